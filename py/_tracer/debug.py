"""The debug switch: TRACER_DEBUG=1 makes the shim say on stderr what it decided and what failed.

Off (the default) it costs nothing: callers test ENABLED, a constant read once at import, and only
off the hot path (the native core gets it once, in configure()).
"""

import os
import sys

from .constants import DEBUG_ENV

ENABLED = bool(os.environ.get(DEBUG_ENV))


def log(message):
    """Writes one line to stderr (call it only when ENABLED)."""
    sys.stderr.write("tracer[%d]: %s\n" % (os.getpid(), message))


def swallowed(doing, error):
    """Reports an error the shim swallowed (the program must run on) while `doing` something."""
    if ENABLED:
        log("%s failed: %s: %s" % (doing, type(error).__name__, error))
