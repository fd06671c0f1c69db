"""--log_gc: each garbage-collection pass as a slice named `gc` on the thread that ran it, with
its generation and what it collected (gc.callbacks, every CPython)."""

import gc
from _thread import get_native_id
from time import perf_counter_ns

from . import debug
from .events import ns_to_us
from .values import in_repr_thread


_installed = []  # the callbacks install() added


def install(session):
    """Records every gc pass of this process into `session` from now on."""
    started = [0]  # the running pass's start (passes do not nest: the GIL, and gc's own lock)

    def on_gc(phase, info):
        if phase == "start":
            started[0] = 0 if in_repr_thread() else perf_counter_ns()
            return
        start, started[0] = started[0], 0
        if not start:
            return  # a pass that started before recording did
        end = perf_counter_ns()
        try:  # an error here would be printed as the program's ("Exception ignored in ...")
            session.emit({
                "ph": "X", "tid": get_native_id(), "ts": ns_to_us(start),
                "dur": ns_to_us(end - start), "name": "gc", "cat": "gc",
                "args": {"generation": info.get("generation"), "collected": info.get("collected"),
                         "uncollectable": info.get("uncollectable")},
            })
        except Exception as error:  # noqa: BLE001
            debug.swallowed("recording a gc pass", error)

    gc.callbacks.append(on_gc)
    _installed.append(on_gc)


def uninstall():
    """Removes what install() added (tracer attach detaching)."""
    while _installed:
        on_gc = _installed.pop()
        if on_gc in gc.callbacks:
            gc.callbacks.remove(on_gc)
