"""tracer's in-program API: events of your own beside the calls tracer records.

    import tracer_api

    tracer_api.instant("checkpoint", step=3)         # an instant event on this thread
    tracer_api.counter("queue", depth=12, busy=3)    # a counter track per keyword
    with tracer_api.span("load", path=path):         # a slice around the block
        ...
    @tracer_api.span("handler")                      # a slice around every call
    def handle(request): ...
    tracer_api.enabled()                             # True while tracer records this process

Under tracer this module is importable in every traced process with nothing installed. Outside
tracer (keep a copy: `tracer --write_api DIR` writes this file) every call does nothing, and
`span` used as a decorator returns the function itself.
"""

import sys

__all__ = ["instant", "counter", "span", "enabled"]

_bootstrap = sys.modules.get("_tracer.bootstrap")
if _bootstrap is not None and getattr(_bootstrap, "session", None) is not None:
    from _tracer.api import Span as span  # noqa: F401 - the names this module exports
    from _tracer.api import counter, enabled, instant  # noqa: F401
else:

    def instant(name, **args):
        """An instant event on the calling thread (does nothing outside tracer)."""

    def counter(name, **values):
        """Values of the counter track `name` (does nothing outside tracer)."""

    def enabled():
        """True while tracer records this process."""
        return False

    class span:  # noqa: N801 - used like a function
        """A slice around a `with` block or each call of a decorated function (does nothing
        outside tracer)."""

        __slots__ = ()

        def __init__(self, name, **args):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            return False

        def __call__(self, func):
            return func

del sys, _bootstrap
