"""Recording on CPython 3.8-3.11 with sys.setprofile and threading.setprofile.

Each thread gets its own profile function closed over its own buffer (threading.setprofile runs a
one-shot bootstrap as a new thread's first event), so the hot path has no per-thread lookup at
all: one string comparison chain and one or two appends per event (buffer layout: writer.py).
Threads already running when tracing starts cannot be attached to before 3.12.
"""

import _thread
import sys
import threading
from time import perf_counter_ns

from .core import BufferedCore
from .writer import CFunctionNames

_setprofile = sys.setprofile
_start_new_thread = _thread.start_new_thread


class ProfileCore(BufferedCore):
    """Records Python (and C) calls through one profile function per thread."""

    def __init__(self, registry, config, code_filter):
        self._registry = registry
        self._ignore_c = config.ignore_c_function
        self._names = CFunctionNames()
        self._running = False

    def start(self):
        """Starts recording in the calling thread and in every thread started from now on."""
        self._running = True
        threading.setprofile(self._bootstrap_thread)
        _thread.start_new_thread = self._start_new_thread
        self._attach()

    def stop(self):
        """Stops recording in the calling thread and for new threads (others cannot be reached)."""
        self._running = False
        _setprofile(None)
        threading.setprofile(None)
        if _thread.start_new_thread == self._start_new_thread:
            _thread.start_new_thread = _start_new_thread

    def lost_reason(self):
        """Why the calling thread stopped recording before the end, else None."""
        if self._running and sys.getprofile() is None:
            return (
                "the profile function of thread %r was removed (by a RecursionError, which drops"
                " a Python profile function on 3.8-3.11, or by the program's sys.setprofile);"
                " its later calls are missing" % threading.current_thread().name
            )
        return None

    def after_fork(self, fork_ns):
        """Nothing to do: the surviving thread keeps its profile function and buffer."""

    def _attach(self):
        profile = self._profiler(self._registry.new_thread().buf)
        _setprofile(profile)
        return profile

    def _bootstrap_thread(self, frame, event, arg):
        # A new threading.Thread's first event: give it its own profile function.
        if self._running:
            self._attach()(frame, event, arg)
        else:
            _setprofile(None)

    def _start_new_thread(self, function, args, kwargs=None):
        return _start_new_thread(_TracedStart(self, function), args, kwargs or {})

    def _profiler(self, buf):
        append = buf.append
        clock = perf_counter_ns
        flush_all = self._registry.flush_all
        flush_at = self._registry.flush_at
        names = self._names
        c_name_cache = names._by_callable
        c_slow_name = names._slow_name
        builtin_type = type(len)
        descriptor_type = type(list.append)

        # Hot path. Event strings are not always the interned constants (3.11): compare with ==.
        # The clock is read last on entry and first on exit, keeping our own time outside. Every
        # entry (Python or C) checks whether the buffers are due to be written.
        if self._ignore_c:

            def profile(frame, event, arg):
                if event == "call":
                    append(frame.f_code)
                    now = clock()
                    append(now)
                    if now > flush_at[0]:
                        flush_all()
                elif event == "return":
                    append(clock())

            return profile

        def profile(frame, event, arg):
            if event == "call":
                append(frame.f_code)
                now = clock()
                append(now)
                if now > flush_at[0]:
                    flush_all()
            elif event == "return":
                append(clock())
            elif event == "c_call":
                cls = arg.__class__
                if cls is builtin_type or cls is descriptor_type:
                    name = c_name_cache.get(arg)
                    if name is None:
                        name = c_slow_name(arg, cls)
                else:
                    name = c_slow_name(arg, cls)
                append(name)
                now = clock()
                append(now)
                if now > flush_at[0]:
                    flush_all()
            else:  # c_return, c_exception
                append(clock())

        return profile


class _TracedStart:
    """Runs a `_thread.start_new_thread` function with recording attached to its thread."""

    __slots__ = ("core", "function")

    def __init__(self, core, function):
        self.core = core
        self.function = function

    def __call__(self, *args, **kwargs):
        if self.core._running:
            self.core._attach()
        return self.function(*args, **kwargs)

    def __repr__(self):  # _thread names the function when it raises: keep the user's
        return repr(self.function)
