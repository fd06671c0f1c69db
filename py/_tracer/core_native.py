"""The native core: the hot path runs in C (_native.c); this class switches it on and off.

On 3.12+ the C functions are the callbacks of one sys.monitoring tool, as in core_monitoring.py: a
global PY_START that decides each code object once and records the starts of recorded code, and
local events (resumes, returns, C calls) on recorded code only. On 3.8-3.11 the C profile hook is
set in every thread the API reaches (3.9+: threads already running too), and in threads started
later through threading.setprofile and _thread.start_new_thread, as in core_profile.py.

With a `values` object (--log_func_args, --log_func_retval) the C core calls its
`start(frame, tid, depth, name_id)` when a recorded Python call starts (3.12+: PY_START only, not
resumes; 3.8-3.11: every "call" event, a generator's resumes too) and keeps the token it returns
beside the call's slot, then `finish(tid, start, duration, name_id, token, retval)` when that call
ends (retval `values.NO_VALUE` for an exception; only for calls of at least min_duration): a true
result means the values object wrote the call, which is then not stored in the events block. See
_native.c (enter_with_token) for the exact moments. With call_values.CallValues (whose
`native_values()` says what to record) the C core does what its start and finish do itself, into
the same blocks, byte for byte (_native.c, native_start): no Python code per call.
"""

import _thread
import sys
import threading

from . import debug, rawfile
from .config import event_cap
from .constants import CHECK_INTERVAL_NS, TOOL_PREFERENCE
from .threads import LAST_EVENT_SLOTS
from .core import Core, monitoring_loss, release_tool

_MONITORING = sys.version_info >= (3, 12)
if _MONITORING:
    from .constants import C_CALL_EVENTS, ENTRY_EXIT_EVENTS

    _monitoring = sys.monitoring
    _events = _monitoring.events
else:
    from .core_profile import _TracedStart

    _start_new_thread = _thread.start_new_thread


class NativeCore(Core):
    """Records every thread's calls in C, straight into the file's blocks (as pairing.py does)."""

    kind = "native"

    def __init__(self, registry, config, native, names, values=None):
        self._registry = registry
        self._native = native
        self._ignore_c = config.ignore_c_function
        self._running = False
        self._tools = ()
        self._local = 0  # the local events a code object gets (3.12+, set by start)
        self._watched = []  # code objects watch_running switched on (stop switches them off)
        options = {} if values is None else {"values": values}  # values mode (the module doc)
        native_values = getattr(values, "native_values", None)
        if native_values is not None:  # CallValues: the C core records the values itself
            options["native_values"] = native_values()
        native.configure(
            registry=registry,
            last_event_slots=LAST_EVENT_SLOTS,
            check_interval_ns=CHECK_INTERVAL_NS,
            max_depth=config.max_stack_depth,
            cap=event_cap(config),
            min_ns=int(config.min_duration_us * 1000),
            ignore_c=config.ignore_c_function,
            debug=debug.ENABLED,
            **options,
        )
        rawfile.use_mapper(native.map_segment)  # keeps no duplicate of the file's descriptor
        if not _MONITORING:
            self._attach = native.attach  # for _TracedStart

    def start(self):
        """Switches the C callbacks on for every thread."""
        self._running = True
        if _MONITORING:
            self._start_monitoring()
        else:
            threading.setprofile(self._native.thread_profile)
            _thread.start_new_thread = self._start_new_thread
            self._native.start()

    def stop(self):
        """Switches the callbacks off (what they recorded is in the file already)."""
        self._running = False
        self._native.stop()
        if not _MONITORING:
            threading.setprofile(None)
            if _thread.start_new_thread == self._start_new_thread:
                _thread.start_new_thread = _start_new_thread
        elif self._tools:
            (tool,) = self._tools
            self._tools = ()
            watched, self._watched = self._watched, []
            release_tool(tool, self._native.take_enabled_codes() + watched)

    def counts(self):
        """See Core.counts."""
        return self._native.counts()

    def admit(self):
        """One event the session records outside calls (an instant, a counter, a span) takes a
        place under the cap on events written whole: True, or False when the cap is reached
        (counted as dropped)."""
        return self._native.admit()

    def before_fork(self):
        """See Core.before_fork."""
        self._native.before_fork()

    def after_fork_in_parent(self):
        """See Core.after_fork_in_parent."""
        self._native.after_fork_in_parent()

    def after_fork(self, fork_ns):
        """See Core.after_fork."""
        self._registry.after_fork()  # the surviving thread's ids in the child
        self._native.after_fork(fork_ns)

    def resume(self):
        """See Core.resume."""
        self._native.resume()

    def lost_reason(self):
        """Why recording stopped before the end (the tool id was freed or cleared), else None."""
        return monitoring_loss(self._tools) if self._tools else None

    def monitoring_tool(self):
        """See Core.monitoring_tool."""
        return self._tools[0] if self._tools else None

    def watch_running(self, codes):
        """See Core.watch_running (a later start of the same code switches on the same events)."""
        for code in codes:
            if self._tools:
                _monitoring.set_local_events(self._tools[0], code, self._local)
                self._watched.append(code)

    def redeliver_signal(self, signum):
        """See Core.redeliver_signal: a timer re-sends it (_native.c, Linux only)."""
        return self._native.redeliver_signal(signum)

    def signal_seen(self, signum):
        """See Core.signal_seen."""
        self._native.signal_seen(signum)

    def _start_monitoring(self):
        free = [tool for tool in TOOL_PREFERENCE if _monitoring.get_tool(tool) is None]
        if not free:
            raise RuntimeError("sys.monitoring has no free tool id (other profilers are active)")
        tool = free[0]
        _monitoring.use_tool_id(tool, "tracer")
        self._tools = (tool,)
        native = self._native
        for event, callback in (
            (_events.PY_START, native.py_start),
            (_events.PY_RESUME, native.py_resume),
            (_events.PY_RETURN, native.py_return),
            (_events.PY_YIELD, native.py_return),
            (_events.PY_THROW, native.py_throw),
            (_events.PY_UNWIND, native.py_unwind),
            (_events.CALL, native.call),
            (_events.C_RETURN, native.c_return),
            (_events.C_RAISE, native.c_return),
        ):
            _monitoring.register_callback(tool, event, callback)
        local = ENTRY_EXIT_EVENTS & ~_events.PY_START  # PY_START is global (see _native.c)
        if not self._ignore_c:
            local |= C_CALL_EVENTS
        self._local = local
        native.start_monitoring(_monitoring.set_local_events, tool, local, _monitoring.DISABLE)
        _monitoring.set_events(tool, _events.PY_START | _events.PY_UNWIND | _events.PY_THROW)

    def _start_new_thread(self, function, args, kwargs=None):
        return _start_new_thread(_TracedStart(self, function), args, kwargs or {})
