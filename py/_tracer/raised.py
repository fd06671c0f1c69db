"""--log_exception: an instant event at every exception raised in recorded code (those raised by
C functions included), on its thread, with its type and message. Through sys.monitoring's RAISE
and RERAISE events, so CPython 3.12+ only: earlier versions have no cheap way to see a raise (the
profile hook does not report them)."""

import sys
from _thread import get_native_id
from time import perf_counter_ns

from . import debug
from .events import ns_to_us
from .values import in_repr_thread, message_of, type_name

SUPPORTED = sys.version_info >= (3, 12)
UNSUPPORTED_NOTE = (
    "--log_exception needs CPython 3.12 or later (sys.monitoring); Python %d.%d records no exceptions"
    % sys.version_info[:2]
)


def install(session, tool):
    """Records the raises of this process into `session` through the sys.monitoring tool `tool`
    (the core's: its events are switched off and its callbacks dropped with it)."""
    monitoring = sys.monitoring
    events = monitoring.events
    code_id = session.names.code_id

    def record(code, exception, reraised):
        # An error here would be raised in the program's code (sys.monitoring): none leaves.
        try:
            if code_id(code) < 0 or in_repr_thread():
                return  # excluded code (and the shim's), and the program's reprs the tracer runs
            cls = type(exception)
            args = {"type": type_name(cls), "message": message_of(exception)}
            if reraised:
                args["reraised"] = True
            session.emit({"ph": "i", "s": "t", "tid": get_native_id(),
                          "ts": ns_to_us(perf_counter_ns()), "name": cls.__name__,
                          "cat": "exception", "args": args})
        except Exception as error:  # noqa: BLE001
            debug.swallowed("recording a raise", error)

    def on_raise(code, offset, exception):
        record(code, exception, False)

    def on_reraise(code, offset, exception):
        record(code, exception, True)

    monitoring.register_callback(tool, events.RAISE, on_raise)
    monitoring.register_callback(tool, events.RERAISE, on_reraise)
    monitoring.set_events(tool, monitoring.get_events(tool) | events.RAISE | events.RERAISE)
