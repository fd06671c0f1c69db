"""Recording on CPython 3.12+ with sys.monitoring (PEP 669).

One tool. PY_START is a global event: its callback records the start of recorded code and, the
first time it meets a code object, decides whether it is recorded; excluded code gets DISABLE, so
it costs nothing after its first call. The other events (returns, resumes, C calls) are local
events, switched on per recorded code object before its first start is recorded, so their
callbacks do no filtering: each is a thread-local lookup and one or two list appends (see
writer.py for the buffer layout).

Why the start is not a local event too (an earlier design had a "decider" tool with the global
PY_START switch on a "recorder" tool's local events): when threads start the same code at once,
a thread whose start fired before another thread switched the local events on, but whose
decider callback ran after, recorded nothing: the start belongs to the callback that sees it.
"""

import sys
from time import perf_counter_ns
from types import FunctionType, MethodType

from .constants import C_CALL_EVENTS as _C_CALLS
from .constants import ENTRY_EXIT_EVENTS as _ENTRY_EXIT
from .constants import TOOL_PREFERENCE as _TOOL_PREFERENCE
from .core import BufferedCore, monitoring_loss, release_tool
from .writer import CFunctionNames

_monitoring = sys.monitoring
_events = _monitoring.events
_DISABLE = _monitoring.DISABLE


class MonitoringCore(BufferedCore):
    """Records Python (and C) calls of every thread through one sys.monitoring tool."""

    def __init__(self, registry, config, code_filter):
        self._registry = registry
        self._code_filter = code_filter
        local_events = _ENTRY_EXIT & ~_events.PY_START  # PY_START is global (see above)
        self._local_events = local_events if config.ignore_c_function else local_events | _C_CALLS
        # id(code) -> code of the code objects with local events on. Keyed by identity: code
        # objects compare equal across files (equality ignores co_filename), and holding the code
        # keeps its id from being reused while it is here.
        self._recorded = {}
        self._tool = None

    def start(self):
        """Claims a free tool id and switches recording on for every thread."""
        free = [tool for tool in _TOOL_PREFERENCE if _monitoring.get_tool(tool) is None]
        if not free:
            raise RuntimeError("sys.monitoring has no free tool id (other profilers are active)")
        tool = free[0]
        _monitoring.use_tool_id(tool, "tracer")
        self._tool = tool
        for event, callback in self._callbacks(tool).items():
            _monitoring.register_callback(tool, event, callback)
        _monitoring.set_events(tool, _events.PY_START | _events.PY_UNWIND | _events.PY_THROW)

    def stop(self):
        """Switches every event off and gives the tool id back (if the program left it to us)."""
        tool = self._tool
        if tool is None:
            return
        self._tool = None
        release_tool(tool, self._recorded.values())

    def lost_reason(self):
        """Why recording stopped before the end (the tool id was freed or cleared), else None."""
        return None if self._tool is None else monitoring_loss((self._tool,))

    def after_fork(self, fork_ns):
        """Nothing to do: sys.monitoring state survives fork in the calling thread."""

    def _callbacks(self, tool):
        registry = self._registry
        local = registry.local
        new_thread = registry.new_thread
        flush_all = registry.flush_all
        flush_at = registry.flush_at
        code_filter = self._code_filter
        recorded = self._recorded
        code_id = id
        set_local_events = _monitoring.set_local_events
        local_events = self._local_events
        clock = perf_counter_ns
        names = CFunctionNames()
        c_name_cache = names._by_callable
        c_slow_name = names._slow_name
        builtin_type = type(len)
        descriptor_type = type(list.append)
        function_type = FunctionType
        method_type = MethodType
        disable = _DISABLE

        # Hot path: every callback below runs once per call or return. Each choice is measured:
        # a thread-local attribute is the cheapest per-thread lookup; the clock is read last on
        # entry and first on exit so the tracer's own time stays outside the recorded interval.

        def on_start(code, offset):
            if code_id(code) not in recorded:
                # First start of this code object (or a restart_events() by another tool):
                # excluded code is silenced here for good; recorded code gets its local events
                # before this start is recorded, so this call's return is seen in any thread.
                if not code_filter(code):
                    return disable
                try:
                    set_local_events(tool, code, local_events)
                except ValueError:  # the program freed our tool id: record nothing more
                    return disable
                recorded[code_id(code)] = code
            # From here as on_entry (inlined: one more call per start costs more than the lines).
            try:
                buf = local.buf
            except AttributeError:
                buf = new_thread().buf
            buf.append(code)
            now = clock()
            buf.append(now)
            if now > flush_at[0]:
                flush_all()

        def on_entry(code, offset):
            try:
                buf = local.buf
            except AttributeError:
                buf = new_thread().buf
            buf.append(code)
            now = clock()
            buf.append(now)
            if now > flush_at[0]:
                flush_all()

        def on_exit(code, offset, value):
            now = clock()
            try:
                local.buf.append(now)
            except AttributeError:  # a thread that started before tracing, returning
                pass

        def on_throw(code, offset, exception):  # global event: filter here (rare)
            if code_id(code) in recorded:
                on_entry(code, offset)

        def on_unwind(code, offset, exception):  # global event; DISABLE is not allowed here
            now = clock()
            if code_id(code) in recorded:
                try:
                    local.buf.append(now)
                except AttributeError:
                    pass

        # CALL and C_RETURN fire for every callable. A C call is what the profile hook of
        # 3.8-3.11 reports (and cProfile, VizTracer): a builtin function or method, or a method
        # descriptor; classes and other callables are not calls of their own (_native.c,
        # is_c_function). A builtin method bound through a C class is a subclass of builtin_type.
        def on_c_call(code, offset, func, arg0):
            cls = func.__class__
            if cls is builtin_type or cls is descriptor_type:
                name = c_name_cache.get(func)
                if name is None:
                    name = c_slow_name(func, cls)
            elif cls is function_type or cls is method_type or not isinstance(func, builtin_type):
                return  # most calls: Python callees get PY_START
            else:
                name = c_slow_name(func, cls)
            try:
                buf = local.buf
            except AttributeError:
                buf = new_thread().buf
            buf.append(name)
            now = clock()
            buf.append(now)
            if now > flush_at[0]:
                flush_all()

        def on_c_exit(code, offset, func, arg0):
            now = clock()
            cls = func.__class__
            if cls is not builtin_type and cls is not descriptor_type and (
                cls is function_type or cls is method_type or not isinstance(func, builtin_type)
            ):
                return
            try:
                local.buf.append(now)
            except AttributeError:
                pass

        return {
            _events.PY_START: on_start,
            _events.PY_RESUME: on_entry,
            _events.PY_RETURN: on_exit,
            _events.PY_YIELD: on_exit,
            _events.PY_THROW: on_throw,
            _events.PY_UNWIND: on_unwind,
            _events.CALL: on_c_call,
            _events.C_RETURN: on_c_exit,
            _events.C_RAISE: on_c_exit,
        }

