"""Recording on CPython 3.12+ with sys.monitoring (PEP 669).

Two tools: the "decider" gets PY_START globally, decides once per code object whether it is
recorded and returns DISABLE, so excluded code costs nothing after its first call. The
"recorder" gets local events only on recorded code objects, so its callbacks do no filtering:
each is a thread-local lookup and one or two list appends (see writer.py for the buffer layout).
"""

import sys
from time import perf_counter_ns
from types import FunctionType, MethodType

from .constants import C_CALL_EVENTS as _C_CALLS
from .constants import ENTRY_EXIT_EVENTS as _ENTRY_EXIT
from .constants import TOOL_PREFERENCE as _TOOL_PREFERENCE
from .core import BufferedCore
from .writer import CFunctionNames

_monitoring = sys.monitoring
_events = _monitoring.events
_DISABLE = _monitoring.DISABLE


class MonitoringCore(BufferedCore):
    """Records Python (and C) calls of every thread through two sys.monitoring tools."""

    def __init__(self, registry, config, code_filter):
        self._registry = registry
        self._code_filter = code_filter
        self._local_events = _ENTRY_EXIT if config.ignore_c_function else _ENTRY_EXIT | _C_CALLS
        self._recorded = set()  # code objects with the recorder's local events on
        self._tools = ()

    def start(self):
        """Claims two free tool ids and switches recording on for every thread."""
        free = [tool for tool in _TOOL_PREFERENCE if _monitoring.get_tool(tool) is None]
        if len(free) < 2:
            raise RuntimeError("sys.monitoring has no two free tool ids (another profiler is active)")
        decider, recorder = free[0], free[1]
        _monitoring.use_tool_id(decider, "tracer")
        _monitoring.use_tool_id(recorder, "tracer")
        self._tools = (decider, recorder)
        decide, record = self._callbacks(recorder)
        _monitoring.register_callback(decider, _events.PY_START, decide)
        for event, callback in record.items():
            _monitoring.register_callback(recorder, event, callback)
        _monitoring.set_events(recorder, _events.PY_UNWIND | _events.PY_THROW)
        _monitoring.set_events(decider, _events.PY_START)

    def stop(self):
        """Switches every event off and gives the tool ids back (those the program left us)."""
        if not self._tools:
            return
        tools = self._tools
        self._tools = ()
        recorder = tools[1]
        for tool in tools:
            if _monitoring.get_tool(tool) != "tracer":
                continue  # the program (or a debugger) freed it: it is no longer ours to touch
            _monitoring.set_events(tool, 0)
            if tool == recorder:
                for code in self._recorded:
                    _monitoring.set_local_events(recorder, code, 0)
            _monitoring.free_tool_id(tool)

    def lost_reason(self):
        """Why recording stopped before the end (the tool ids were taken away), else None."""
        if self._tools and any(_monitoring.get_tool(tool) != "tracer" for tool in self._tools):
            return "the program freed the sys.monitoring tool ids tracer recorded with"
        return None

    def after_fork(self, fork_ns):
        """Nothing to do: sys.monitoring state survives fork in the calling thread."""

    def _callbacks(self, recorder):
        registry = self._registry
        local = registry.local
        new_thread = registry.new_thread
        flush_all = registry.flush_all
        flush_at = registry.flush_at
        code_filter = self._code_filter
        recorded = self._recorded
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

        def decide(code, offset):
            # Once per code object (DISABLE silences it here for good); restart_events() by
            # another tool can call it again, hence the membership test.
            if code not in recorded and code_filter(code):
                recorded.add(code)
                try:
                    set_local_events(recorder, code, local_events)
                except ValueError:  # the program freed our tool ids: record nothing more
                    return disable
                # The recorder sees this code's events from the next one on: record this start.
                try:
                    buf = local.buf
                except AttributeError:
                    buf = new_thread().buf
                buf.append(code)
                buf.append(clock())
            return disable

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
            if code in recorded:
                on_entry(code, offset)

        def on_unwind(code, offset, exception):  # global event; DISABLE is not allowed here
            now = clock()
            if code in recorded:
                try:
                    local.buf.append(now)
                except AttributeError:
                    pass

        def on_c_call(code, offset, func, arg0):
            cls = func.__class__
            if cls is function_type or cls is method_type:
                return  # CALL fires for Python callees too; they get PY_START
            if cls is builtin_type or cls is descriptor_type:
                name = c_name_cache.get(func)
                if name is None:
                    name = c_slow_name(func, cls)
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
            if cls is function_type or cls is method_type:
                return  # a Python callee reached through the generic call path
            try:
                local.buf.append(now)
            except AttributeError:
                pass

        return decide, {
            _events.PY_START: on_entry,
            _events.PY_RESUME: on_entry,
            _events.PY_RETURN: on_exit,
            _events.PY_YIELD: on_exit,
            _events.PY_THROW: on_throw,
            _events.PY_UNWIND: on_unwind,
            _events.CALL: on_c_call,
            _events.C_RETURN: on_c_exit,
            _events.C_RAISE: on_c_exit,
        }

