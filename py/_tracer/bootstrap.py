"""Starts tracing this process once, from sitecustomize, when TRACER_CONFIG is set."""

import os
import sys

from . import debug
from .config import load_config
from .constants import CONFIG_ENV, ROOT_ENV

_started = False
session = None  # the running Session, for hooks and tests


def start():
    """Reads TRACER_CONFIG, starts recording in every thread and installs the hooks; idempotent."""
    global _started, session
    if _started:
        return
    _started = True
    root = os.environ.pop(ROOT_ENV, None) is not None  # the CLI's own child; not inherited
    text = os.environ.get(CONFIG_ENV)
    if not text:
        return
    try:
        config = load_config(text)
        if not config.trace_children:
            _stop_inheritance(config)
        from .session import Session

        from . import hooks

        new_session = Session(config)
        new_session.root = root
        # Hooks first: what they import must not show up as the program's calls.
        hooks.install(new_session)
        new_session.start()
    except Exception as error:  # a broken shim must never break the user's program
        if debug.ENABLED:
            import traceback

            traceback.print_exc()
        sys.stderr.write("tracer: not tracing process %d: %s\n" % (os.getpid(), error))
        return
    session = new_session
    note = new_session.core_note
    if debug.ENABLED:
        debug.log("recording with the %s core%s" % (new_session.core_kind, note and ": " + note or ""))
    if note and root:  # said once per run, by the root process (each file's header has it too)
        sys.stderr.write("tracer: recording with the Python core: %s\n" % note)
    if config.log_exception and root:
        from .raised import SUPPORTED, UNSUPPORTED_NOTE

        if not SUPPORTED:
            sys.stderr.write("tracer: %s\n" % UNSUPPORTED_NOTE)


def _stop_inheritance(config):
    """Removes the shim from the environment children inherit (trace_children is false)."""
    os.environ.pop(CONFIG_ENV, None)
    shim_dir = config.shim_dir or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    entries = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    kept = [entry for entry in entries if entry and os.path.abspath(entry) != shim_dir]
    if kept:
        os.environ["PYTHONPATH"] = os.pathsep.join(kept)
    else:
        os.environ.pop("PYTHONPATH", None)
