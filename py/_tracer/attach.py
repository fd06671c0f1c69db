"""`tracer attach PID`: recording started in a running process by the script the CLI has it run
through `sys.remote_exec` (CPython 3.14+, PEP 768; lib/run/attach.ts writes it), and stopped when
the CLI closes its end of a Unix socket: the CLI asks, or is gone (killed included).

The process was not started by tracer, so none of the run-time hooks (hooks.py) is installed:
no signal, exec, subprocess or thread-name wrapper. start() adds a thread of its own (a _thread
one, so not in threading.enumerate(), recording nothing) that waits on the socket; stop() runs
there and undoes what start() installed: the core's sys.monitoring tool is given back, the gc
callback and the asyncio patch are removed, the repr thread ends, the shim's modules leave
sys.modules, the thread ends. Left behind: the fork hooks (CPython cannot unregister them; they
do nothing once detached), the modules the shim imported (ctypes, _socket) and the native
library (a library cannot be unloaded).

A fork child of an attached process stops recording at once: the CLI knows only the pid it
attached to. start() and stop() each report in a small JSON status file the CLI waits for.
"""

import atexit
import os
import sys
from _thread import start_new_thread

from . import debug
from .config import load_config
from .writer import to_json

_session = None  # the Session recording this process, while attached
_undo = []  # what start() installed beyond the core, undone by stop() in reverse
_forks_watched = [False]


def start(config_path, socket_path, started_path, stopped_path):
    """Starts recording every thread of this process into a new file of the run's data dir, until
    the CLI's end of the socket at `socket_path` closes; reports in `started_path`, then (once
    detached) in `stopped_path`."""
    global _session
    status = {"pid": os.getpid()}
    try:
        if _session is not None:
            raise RuntimeError("another tracer is attached to this process")
        config = load_config(config_path)
        from _socket import AF_UNIX, SOCK_STREAM, socket

        from .session import Session
        from .values import _stop_tracing_this_thread, prepare

        prepare()  # the watcher thread records nothing: _stop_tracing_this_thread
        connection = socket(AF_UNIX, SOCK_STREAM)
        try:
            connection.connect(socket_path)
            session = Session(config)
            session.root = True  # no traced parent: no launch arrow
            _watch_forks()
            _session = session
            session.start()
        except BaseException:
            _session = None
            connection.close()
            raise
        _undo.append(connection.close)
        try:
            try:  # only the C calls of the frames running now depend on it
                session.watch_running()
            except Exception as error:  # noqa: BLE001
                debug.swallowed("watching the running frames", error)
            atexit.register(_at_exit)
            _install_extras(session, config)
            start_new_thread(_wait_for_detach,
                             (connection, stopped_path, _stop_tracing_this_thread))
        except BaseException:
            stop(None)  # recording stops here: no watcher would ever stop it
            raise
        status.update(core=session.core_kind, note=session.core_note)
    except Exception as error:  # noqa: BLE001 - the process runs on, untraced; the CLI says why
        debug.swallowed("attaching", error)
        status["error"] = "%s: %s" % (type(error).__name__, error)
    _write_status(started_path, status)


def _wait_for_detach(connection, stopped_path, stop_tracing_this_thread):
    """The watcher thread: waits for the CLI's end of the socket to close (or send), then stops."""
    stop_tracing_this_thread()
    try:
        connection.recv(1)
    except OSError:
        pass
    stop(stopped_path)


def stop(status_path):
    """Stops recording, finishes the file (names, tracerEnd) and removes every trace of the shim
    that can be removed; reports in `status_path` (None: no report)."""
    global _session
    session, _session = _session, None
    status = {"pid": os.getpid()}
    if session is not None:
        atexit.unregister(_at_exit)
        try:
            session.finish("detached")
        except Exception as error:  # noqa: BLE001
            debug.swallowed("finishing the attached recording", error)
            status["error"] = "%s: %s" % (type(error).__name__, error)
        _undo_extras()
        _forget_modules()
    if status_path is not None:
        _write_status(status_path, status)


def _at_exit():
    """The process ends while attached: its file ends as a run's does."""
    global _session
    session, _session = _session, None
    if session is not None:
        session.finish("exit")


def _install_extras(session, config):
    """--log_async patches asyncio's Handle if the program has imported asyncio (a program that
    imports it later gets no task rows); --log_gc's callback is the session's own."""
    values = sys.modules.get(__package__ + ".values")
    if values is not None:
        _undo.append(values.stop_idle_thread)
    gc_passes = sys.modules.get(__package__ + ".gc_passes")
    if config.log_gc and gc_passes is not None:
        _undo.append(gc_passes.uninstall)
    events = sys.modules.get("asyncio.events")
    if config.log_async and events is not None:
        from .async_tasks import patch_handle

        _undo.append(patch_handle(session)(events))


def _undo_extras():
    while _undo:
        undo = _undo.pop()
        try:
            undo()
        except Exception as error:  # noqa: BLE001
            debug.swallowed("undoing what the attach installed", error)


def _watch_forks():
    """Once per process: while attached, a fork records into private memory from the fork hooks'
    first to their last, as in a run (session.py); the child then stops recording."""
    if _forks_watched[0]:
        return
    _forks_watched[0] = True
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)


def _before_fork():
    if _session is not None:
        _session.before_fork()


def _after_fork_in_parent():
    if _session is not None:
        _session.after_fork_in_parent()


def _after_fork_in_child():
    global _session
    session, _session = _session, None
    if session is not None:
        session.detach_after_fork()
        _undo_extras()


def _forget_modules():
    """The shim's modules leave sys.modules (a later attach imports its own, from its own dir)."""
    for name in [name for name in sys.modules if name == __package__ or
                 name.startswith(__package__ + ".")]:
        del sys.modules[name]


def _write_status(path, status):
    """Writes the status file whole (a temporary name, then a rename): the CLI polls for it. Plain
    os calls: after the start, what runs here is recorded as this thread's."""
    temporary = path + ".tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, to_json(status).encode())
        finally:
            os.close(fd)
        os.rename(temporary, path)
    except OSError as error:
        debug.swallowed("writing the attach status", error)
