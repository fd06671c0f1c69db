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
from .core import PythonCore, monitoring_loss, release_tool

_monitoring = sys.monitoring
_events = _monitoring.events
_DISABLE = _monitoring.DISABLE


class MonitoringCore(PythonCore):
    """Records Python (and C) calls of every thread through one sys.monitoring tool."""

    def __init__(self, registry, config, names, values=None):
        super().__init__(registry, config, names, values)
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

    def watch_running(self, codes):
        """See Core.watch_running."""
        for code in codes:
            if self._tool is not None and id(code) not in self._recorded:
                _monitoring.set_local_events(self._tool, code, self._local_events)
                self._recorded[id(code)] = code

    def monitoring_tool(self):
        """See Core.monitoring_tool."""
        return self._tool

    def _callbacks(self, tool):
        registry = self._registry
        local = registry.local
        new_thread = registry.new_thread
        push = self._push
        pop = self._pop
        code_ids = self._names.by_code
        code_id = self._names.code_id
        c_function_id = self._names.c_function_id
        recorded = self._recorded
        object_id = id
        set_local_events = _monitoring.set_local_events
        local_events = self._local_events
        clock = perf_counter_ns
        builtin_type = type(len)
        descriptor_type = type(list.append)
        function_type = FunctionType
        method_type = MethodType
        disable = _DISABLE
        with_values = self._values  # --log_func_args/retval: push takes the frame (pairing.py)
        getframe = sys._getframe

        # Hot path: every callback below runs once per call or return. A thread-local attribute
        # is the cheapest per-thread lookup; the clock is read last on entry (in push) and first
        # on exit so the tracer's own time stays outside the recorded interval.

        def on_start(code, offset):
            entry = code_ids.get(object_id(code))
            name_id = entry[1] if entry is not None and entry[0] is code else code_id(code)
            if name_id < 0:
                return disable  # excluded code is silenced here for good
            if object_id(code) not in recorded:
                # First start of this code object (or a restart_events() by another tool): its
                # local events go on before this start is recorded, so this call's return is seen
                # in any thread.
                try:
                    set_local_events(tool, code, local_events)
                except ValueError:  # the program freed our tool id: record nothing more
                    return disable
                recorded[object_id(code)] = code
            try:
                state = local.state
            except AttributeError:
                state = new_thread()
            push(state, name_id, getframe(1) if with_values else None)

        def on_resume(code, offset):
            try:
                state = local.state
            except AttributeError:
                state = new_thread()
            push(state, code_ids[object_id(code)][1])

        def on_exit(code, offset, value):
            now = clock()
            try:
                state = local.state
            except AttributeError:  # a thread that started before tracing, returning
                return
            pop(state, now, value)

        def on_throw(code, offset, exception):  # global event: filter here (rare)
            if object_id(code) in recorded:
                on_resume(code, offset)

        def on_unwind(code, offset, exception):  # global event; DISABLE is not allowed here
            now = clock()
            if object_id(code) in recorded:
                try:
                    state = local.state
                except AttributeError:
                    return
                pop(state, now)

        # CALL and C_RETURN fire for every callable. A C call is what the profile hook of
        # 3.8-3.11 reports (and cProfile, VizTracer): a builtin function or method, or a method
        # descriptor; classes and other callables are not calls of their own (_native.c,
        # is_c_function). A builtin method bound through a C class is a subclass of builtin_type.
        def on_c_call(code, offset, func, arg0):
            cls = func.__class__
            if cls is not builtin_type and cls is not descriptor_type and (
                cls is function_type or cls is method_type or not isinstance(func, builtin_type)
            ):
                return  # most calls: Python callees get PY_START
            try:
                state = local.state
            except AttributeError:
                state = new_thread()
            push(state, c_function_id(func))

        def on_c_exit(code, offset, func, arg0):
            now = clock()
            cls = func.__class__
            if cls is not builtin_type and cls is not descriptor_type and (
                cls is function_type or cls is method_type or not isinstance(func, builtin_type)
            ):
                return
            try:
                state = local.state
            except AttributeError:
                return
            pop(state, now)

        return {
            _events.PY_START: on_start,
            _events.PY_RESUME: on_resume,
            _events.PY_RETURN: on_exit,
            _events.PY_YIELD: on_exit,
            _events.PY_THROW: on_throw,
            _events.PY_UNWIND: on_unwind,
            _events.CALL: on_c_call,
            _events.C_RETURN: on_c_exit,
            _events.C_RAISE: on_c_exit,
        }
