"""Starts tracing this process once, from sitecustomize, when TRACER_CONFIG is set."""

import os
import sys

from .config import CONFIG_ENV, parse_config

_started = False
session = None  # the running Session, for hooks and tests


def start():
    """Reads TRACER_CONFIG, starts recording in every thread and installs the hooks; idempotent."""
    global _started, session
    if _started:
        return
    _started = True
    text = os.environ.get(CONFIG_ENV)
    if not text:
        return
    try:
        config = parse_config(text)
        if not config.trace_children:
            _stop_inheritance(config)
        from .session import Session

        from . import hooks

        new_session = Session(config)
        # Hooks first: what they import must not show up as the program's calls.
        hooks.install(new_session)
        new_session.start()
    except Exception as error:  # a broken shim must never break the user's program
        sys.stderr.write("tracer: not tracing process %d: %s\n" % (os.getpid(), error))
        return
    session = new_session


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
