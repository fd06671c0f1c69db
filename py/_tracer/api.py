"""The in-program API behind the `tracer_api` module while this process is traced (tracer_api.py
binds its names to these; they record into bootstrap.session, this process's session): instants,
counters and spans, written into the trace with the same
guarantees as the calls (appended to the mapped file as they happen, under the event cap, and
left out for code the include/exclude filters leave out).

A span is a `B` event when it opens and an `E` event when it closes, so that a span still open
when the process is killed is in the file (the reader closes it at the end, as it does calls).
"""

import sys
from _thread import get_native_id
from functools import wraps
from time import perf_counter_ns

from . import bootstrap, debug
from .events import json_args, ns_to_us
from .values import text_of

_getframe = sys._getframe


def enabled():
    """True while this process records."""
    session = bootstrap.session
    return session is not None and session.recording()


def _recorded_caller(depth):
    """True when the program's code `depth` frames up is recorded (the filters)."""
    return bootstrap.session.names.code_id(_getframe(depth + 1).f_code) >= 0


def _name(name):
    """An event's name: `str(name)`, or its repr's text when that raises (values.text_of)."""
    if type(name) is str:
        return name
    try:
        return str(name)
    except Exception:  # noqa: BLE001 - the program's __str__; the call must not raise
        return text_of(name)


def instant(name, **args):
    """An instant event on the calling thread, with `args`."""
    try:
        if enabled() and _recorded_caller(1):
            bootstrap.session.emit({"ph": "i", "s": "t", "tid": get_native_id(),
                           "ts": ns_to_us(perf_counter_ns()), "name": _name(name),
                           "cat": "instant", "args": json_args(args)})
    except Exception as error:  # noqa: BLE001 - as untraced, the call does nothing to the program
        debug.swallowed("tracer_api.instant", error)


def counter(name, **values):
    """Counter values (`C` event): each keyword is a series of the counter track `name`; values
    that are not numbers are left out (a bool counts as 0 or 1)."""
    try:
        if not enabled() or not _recorded_caller(1):
            return
        numbers = {str(key): (int(value) if type(value) is bool else value)
                   for key, value in values.items()
                   if type(value) in (int, float, bool) and value == value}
        if numbers:
            bootstrap.session.emit({"ph": "C", "tid": get_native_id(), "ts": ns_to_us(perf_counter_ns()),
                           "name": _name(name), "cat": "counter", "args": numbers})
    except Exception as error:  # noqa: BLE001 - as untraced, the call does nothing to the program
        debug.swallowed("tracer_api.counter", error)


class Span:
    """`span(name, **args)`: a slice around a `with` block, or around each call of a function
    it decorates."""

    __slots__ = ("name", "args", "_open")

    def __init__(self, name, **args):
        self.name = name
        self.args = args
        self._open = []  # the tids of the blocks open with this object (with nests)

    def __enter__(self):
        self._open.append(_begin(self.name, self.args, 1))
        return self

    def __exit__(self, *exc_info):
        if self._open:
            _end(self._open.pop())
        return False

    def __call__(self, func):
        name = self.name
        args = self.args

        @wraps(func)
        def spanned(*call_args, **call_kwargs):
            tid = _begin(name, args, 1)
            try:
                return func(*call_args, **call_kwargs)
            finally:
                _end(tid)

        return spanned


def _begin(name, args, depth):
    """Opens a span; the thread's tid, or None when it is not recorded."""
    try:
        if not enabled() or not _recorded_caller(depth + 1):
            return None
        tid = get_native_id()
        written = bootstrap.session.emit({"ph": "B", "tid": tid, "ts": ns_to_us(perf_counter_ns()),
                                 "name": _name(name), "cat": "span", "args": json_args(args)})
        return tid if written else None
    except Exception as error:  # noqa: BLE001 - as untraced, the span does nothing to the program
        debug.swallowed("tracer_api.span", error)
        return None


def _end(tid):
    try:
        if tid is not None and enabled():
            bootstrap.session.emit({"ph": "E", "tid": tid, "ts": ns_to_us(perf_counter_ns())},
                          counted=False)
    except Exception as error:  # noqa: BLE001
        debug.swallowed("tracer_api.span", error)
