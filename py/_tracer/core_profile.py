"""Recording on CPython 3.8-3.11 with sys.setprofile and threading.setprofile.

Each thread gets its own profile function closed over its own buffer (threading.setprofile runs a
one-shot bootstrap as a new thread's first event), so the hot path has no per-thread lookup at
all: one string comparison chain and a push or pop (pairing.py) per event.
Threads already running when tracing starts cannot be attached to before 3.12.
"""

import _thread
import sys
import threading
from time import perf_counter_ns

from .core import PythonCore

_setprofile = sys.setprofile
_start_new_thread = _thread.start_new_thread


class ProfileCore(PythonCore):
    """Records Python (and C) calls through one profile function per thread."""

    def __init__(self, registry, config, names, values=None):
        super().__init__(registry, config, names, values)
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

    def _attach(self):
        profile = self._profiler(self._registry.new_thread())
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

    def _profiler(self, state):
        push = self._push
        pop = self._pop
        clock = perf_counter_ns
        code_ids = self._names.by_code
        code_id = self._names.code_id
        c_function_id = self._names.c_function_id
        object_id = id
        record_c = not self._ignore_c

        # Hot path. Event strings are not always the interned constants (3.11): compare with ==.
        # The clock is read last on entry (in push) and first on exit.
        def profile(frame, event, arg):
            if event == "call":
                code = frame.f_code
                entry = code_ids.get(object_id(code))
                push(state, entry[1] if entry is not None and entry[0] is code else code_id(code),
                     frame)
            elif event == "return":
                pop(state, clock(), arg)
            elif record_c:
                if event == "c_call":
                    depth = state.depth
                    if depth and state.stack[depth * 2 + 1] < 0:
                        push(state, -1)  # called by code that is not recorded: not recorded either
                    else:
                        push(state, c_function_id(arg))
                else:  # c_return, c_exception
                    pop(state, clock())

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
