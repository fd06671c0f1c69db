"""Every constant the shim's modules share, defined once (TypeScript side: lib/run/shim_config.ts).

Nothing here imports more than sys: sitecustomize reads CONFIG_ENV before deciding to trace.
"""

import sys

CONFIG_ENV = "TRACER_CONFIG"  # the run's JSON config (docs/internals.md, section 1)
EXEC_OF_ENV = "TRACER_EXEC_OF"  # set across an exec: the file of the process before it
ROOT_ENV = "TRACER_ROOT"  # set by the CLI for the root process only (it says which core runs)
DEBUG_ENV = "TRACER_DEBUG"  # non-empty: the shim reports on stderr what it decides and what fails


# Periodic work (at most this often): the writer asks whether the tracer CLI still runs when it
# hands out a block; the native core recalibrates its clock and forgets threads that ended.
CHECK_INTERVAL_NS = 50_000_000

# sys.monitoring tool ids tried in order: 2 is cProfile's, 1 coverage's, so take them last.
TOOL_PREFERENCE = (4, 3, 5, 2, 1, 0)

if sys.version_info >= (3, 12):
    _events = sys.monitoring.events
    # Local events of recorded code: entries and exits, and with C functions recorded, calls.
    ENTRY_EXIT_EVENTS = _events.PY_START | _events.PY_RESUME | _events.PY_RETURN | _events.PY_YIELD
    C_CALL_EVENTS = _events.CALL | _events.C_RETURN | _events.C_RAISE
    del _events
