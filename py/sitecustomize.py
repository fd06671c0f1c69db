"""tracer's entry point: Python imports this at start-up because the shim dir is first on PYTHONPATH.

It starts the tracer only when TRACER_CONFIG is set, then always runs the sitecustomize the user's
Python would have run without us (the next one on sys.path), under the same module name.
"""


def _tracer_start():
    import os

    from _tracer.constants import CONFIG_ENV

    if os.environ.get(CONFIG_ENV):
        from _tracer import bootstrap

        bootstrap.start()


def _tracer_chain_load():
    import os
    import sys
    from importlib.machinery import PathFinder

    here = os.path.dirname(os.path.abspath(__file__))
    later = []
    seen_here = False
    for entry in sys.path:
        if seen_here:
            later.append(entry)
        elif os.path.abspath(entry or os.curdir) == here:
            seen_here = True
    spec = PathFinder.find_spec("sitecustomize", later)
    if spec is None or spec.loader is None:
        return
    from importlib.util import module_from_spec

    module = module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    # Errors propagate to site.py, which reports them exactly as it would without us.
    spec.loader.exec_module(module)


def _tracer_started():
    import sys

    bootstrap = sys.modules.get("_tracer.bootstrap")
    if bootstrap is not None and bootstrap.session is not None:
        bootstrap.session.mark_launched()


try:
    _tracer_start()
finally:
    try:
        _tracer_chain_load()
    finally:
        try:
            # The program's own code starts now: the end of this process's launch arrow.
            _tracer_started()
        except Exception:  # noqa: BLE001 - the arrow is lost, the program runs
            pass
        del _tracer_start, _tracer_chain_load, _tracer_started
