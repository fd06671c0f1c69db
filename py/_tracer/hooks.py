"""Process life-cycle hooks: every Python process the program starts writes its whole trace.

`install(session)` is called once per process, after recording started. It makes every way a
process ends write the session's file (atexit, `os._exit`, a fatal signal's default action,
`exec`), gives fork children their own file, passes the shim on to children started with a custom
environment, names processes (multiprocessing names, fork children) and records each launch's
arrow (`Popen`, `Process.start`, `os.fork`, `os.exec*`; tasks.py does the pools' task arrows).

Nothing heavy is imported here: `subprocess` and the multiprocessing modules are patched when the
program imports them (a meta path finder that costs one dict lookup per import).
"""

import atexit
import os
import signal
import sys
from _thread import get_ident, get_native_id
from time import perf_counter_ns as _clock

try:  # signal.py's wrappers are Python code, recorded at every fork: call the C functions
    from _signal import getsignal as _c_getsignal
    from _signal import pthread_sigmask as _c_pthread_sigmask
except ImportError:  # a CPython that moved them: the public (recorded) wrappers do the same
    _c_getsignal = signal.getsignal
    _c_pthread_sigmask = signal.pthread_sigmask

from .constants import CONFIG_ENV as _CONFIG_ENV
from .constants import EXEC_OF_ENV
from . import debug, tasks
from .session import bare_fork_id, launch_flow

# Bound at import: programs mock os and signal functions, the hooks must still reach the real ones.
_real_exit = os._exit
_real_kill = os.kill
_real_getpid = os.getpid
_real_execv = os.execv
_real_execve = os.execve
_real_signal = signal.signal
_real_getsignal = signal.getsignal
_real_posix_spawn = getattr(os, "posix_spawn", None)
_real_posix_spawnp = getattr(os, "posix_spawnp", None)
_SIG_DFL = signal.SIG_DFL

# Signals whose default action ends the process without running atexit; the hooks write the trace
# first, then let the default action happen. SIGINT only counts once the program set SIG_DFL for it
# (Python's own SIGINT handler raises KeyboardInterrupt, which atexit covers).
_ALWAYS_GUARDED = (signal.SIGTERM, signal.SIGHUP)
_GUARDED_WHEN_SET = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

_session = None
_process_name = None  # last name given by these hooks; None: the session's default (command line)
_finishing = False  # a finish started by these hooks is running
_pending_signal = 0  # a fatal signal that arrived during that finish, re-raised once it is done
_shim_dir = ""
_config_text = ""
_trace_children = False
# Threads inside a subprocess.Popen with preexec_fn: a fork there is a child that runs the
# preexec_fn and execs (or _exits) from C, it must not start a file of its own.
_preexec_forkers = set()
# Thread ident -> its signal mask before os.fork blocked the guarded signals (_hold_signals).
_fork_masks = {}
# Threads inside a launching call the hooks record (Process.start, Popen): the fork or exec inside
# it is the same launch, not another one.
_launching = set()
# Forks so far (a bare fork's launch arrow id: parent and child both know it) and when the last
# one started.
_fork_seq = 0
_fork_started_ns = 0
# This process is multiprocessing's fork server: its forks are the workers other processes asked
# for with Process.start, which records their launch.
_in_forkserver = False


def install(session):
    """Hooks the current process so that every way it ends writes `session`'s trace file."""
    global _session, _shim_dir, _config_text, _trace_children
    if _session is not None:
        return
    _session = session
    config = session.config
    _shim_dir = config.shim_dir
    _trace_children = bool(config.trace_children)
    _config_text = os.environ.get(_CONFIG_ENV, "")
    # The pre-exec file name is for this process only, never for its own children.
    os.environ.pop(EXEC_OF_ENV, None)

    atexit.register(_at_exit)
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )
    _patch_thread_name()
    os._exit = _exit
    os.execv = _execv
    os.execve = _execve
    signal.signal = _signal
    signal.getsignal = _getsignal
    for signum in _ALWAYS_GUARDED:
        if _real_getsignal(signum) == _SIG_DFL:
            _guard(signum)
    if _trace_children:
        if _real_posix_spawn is not None:
            os.posix_spawn = _posix_spawn
        if _real_posix_spawnp is not None:
            os.posix_spawnp = _posix_spawnp
    _patch_on_import("subprocess", _patch_subprocess)
    _patch_on_import("multiprocessing.process", _patch_multiprocessing_process)
    _patch_on_import("multiprocessing.forkserver", _patch_forkserver)
    tasks.install(session)
    _patch_on_import("multiprocessing.pool", tasks.patch_pool)
    _patch_on_import("concurrent.futures.process", tasks.patch_process_pool)
    _patch_on_import(
        "multiprocessing.resource_tracker", _name_main("multiprocessing.resource_tracker")
    )
    for module in ("setproctitle", "ray._raylet"):  # Ray sets titles with its own copy
        _patch_on_import(module, _patch_setproctitle)
    _patch_on_import("multiprocessing.util", _patch_spawnv_passfds)
    if config.log_async:
        from . import async_tasks

        _patch_on_import("asyncio.events", async_tasks.patch_handle(session))


# --- ending: finish the session once, whatever path the process takes out ---------------------


def _finish(reason):
    """Writes the trace (once); a fatal signal that arrived meanwhile is re-raised afterwards."""
    global _finishing
    if _finishing:
        return
    _finishing = True
    try:
        if not _session.owns_file():
            # A fork child that ends before the shim's fork hook ran (a pool's terminate() can
            # be that quick): give it its file first.
            _session.restart_after_fork()
        _session.finish(reason)
    except Exception as error:  # noqa: BLE001 - a tracer failure must never change how the program ends
        debug.swallowed("writing the trace at the end", error)
    finally:
        _finishing = False
    if _pending_signal:
        _die_by(_pending_signal)


def _at_exit():
    # Set by the interpreter for an uncaught exception (last_exc since 3.12, last_value before)
    error = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    if isinstance(error, KeyboardInterrupt):
        _finish("signal:SIGINT")
    elif error is not None:
        _finish("exception")
    else:
        _finish("exit")


def _exit(status):
    _finish("os._exit")
    _real_exit(status)


def _guard(signum):
    """Puts the hooks' handler in place of signum's default action."""
    previous = _real_signal(signum, _on_fatal_signal)
    _session.redeliver_signal(signum)
    return previous


def _on_fatal_signal(signum, frame):
    global _pending_signal
    _session.signal_seen(signum)
    if _finishing:
        # Dying now would cut the file mid-line: let the running finish end, then die.
        _pending_signal = signum
        return
    _finish("signal:" + _signal_name(signum))
    _die_by(signum)


def _die_by(signum):
    """Ends the process by the signal's default action, so its exit status stays what it was."""
    try:
        _real_signal(signum, _SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, (signum,))
        _real_kill(_real_getpid(), signum)
    finally:
        _real_exit(128 + signum)


def _signal_name(signum):
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def _signal(signalnum, handler):
    """`signal.signal`: the program's handlers win; SIG_DFL for a fatal signal still writes data."""
    if signalnum in _GUARDED_WHEN_SET and handler == _SIG_DFL:
        return _visible(_guard(signalnum))
    return _visible(_real_signal(signalnum, handler))


def _getsignal(signalnum):
    """`signal.getsignal`: reports SIG_DFL where the hooks' handler stands in for it."""
    return _visible(_real_getsignal(signalnum))


def _visible(handler):
    return _SIG_DFL if handler == _on_fatal_signal else handler


# --- thread names ------------------------------------------------------------------------------


def _patch_thread_name():
    """Wraps the Thread.name setter: a thread renamed while it runs is renamed in the file at once
    (a process killed just after keeps the name)."""
    import threading

    prop = threading.Thread.__dict__.get("name")
    if not isinstance(prop, property) or prop.fset is None:
        return
    setter = prop.fset

    def set_name(thread, name):
        setter(thread, name)
        try:
            _session.thread_renamed(thread)
        except Exception as error:  # noqa: BLE001 - the rename is done; only the trace lags
            debug.swallowed("renaming a thread", error)

    threading.Thread.name = property(prop.fget, set_name, prop.fdel, prop.__doc__)


# --- fork --------------------------------------------------------------------------------------


def _hold_signals():
    # CPython drops a signal that reaches a fork child before the child's own after-fork reset
    # (_PySignal_AfterFork clears the flags Python-level handlers wait on). Untraced, a SIGTERM
    # there kills the child (SIG_DFL); with the hooks' handler in its place it would be lost, and
    # a pool that terminates a worker it has just forked would wait for it forever. So the
    # signals the hooks handle stay blocked across the fork (pending in the kernel), and the
    # child lets them in once its file is ready.
    # The C functions, not signal.py's wrappers: code the shim calls would be recorded.
    guarded = _guarded_signals()
    if guarded:
        _fork_masks[get_ident()] = _c_pthread_sigmask(signal.SIG_BLOCK, guarded)


def _guarded_signals():
    """The signals the hooks' handler stands in for now (read with _signal's C function)."""
    return [signum for signum in _GUARDED_WHEN_SET if _c_getsignal(signum) == _on_fatal_signal]


def _release_signals():
    mask = _fork_masks.pop(get_ident(), None)
    if mask is not None:
        _c_pthread_sigmask(signal.SIG_SETMASK, mask)


def _after_fork_in_child():
    global _finishing, _pending_signal, _in_forkserver
    _pending_signal = 0
    forked_by_server = _in_forkserver
    _in_forkserver = False  # a worker's own forks are its own launches
    # A fatal signal (a pool terminating its workers) is held until the child's file is ready,
    # then handled as usual: the file is finished and the child dies of that signal.
    _finishing = True
    try:
        if get_ident() in _preexec_forkers or not _trace_children:
            _session.detach_after_fork()
            return
        # A fork inside a launching call (Process.start) has that call's arrow, keyed by the
        # child's pid; a fork server's forks have the Process.start of the process that asked.
        bare = get_ident() not in _launching and not forked_by_server
        # The child never returns through that launching call (it runs and exits): its own
        # launches (a pool worker's subprocess) have their own arrows.
        _launching.clear()
        _session.restart_after_fork(
            "forkserver" if forked_by_server else "fork", _fork_seq if bare else None
        )
        parent = _process_name or _default_process_name()
        _set_process_name(parent + " (fork)")
        for signum in _guarded_signals():
            _session.redeliver_signal(signum)  # the parent's timers are not inherited
    except Exception as error:  # noqa: BLE001 - the child must run even if its trace cannot
        debug.swallowed("starting a fork child's trace", error)
    finally:
        _finishing = False
        if _pending_signal:
            _finish("signal:" + _signal_name(_pending_signal))
        _release_signals()  # a signal held since the fork comes in now
        _fork_masks.clear()  # other threads' forks in progress: those threads are not here


def _default_process_name():
    name = getattr(_session, "process_name", None)
    if name:
        return name
    return _session.base_process_name()


def _set_process_name(name):
    global _process_name
    _process_name = name
    _session.set_process_name(name)


def _before_fork():
    global _fork_seq, _fork_started_ns
    _fork_seq += 1
    _fork_started_ns = _clock()
    # The shim's before hook runs last (registered first): from here to the fork this thread
    # records into private memory, as the child shares the parent's mapping.
    _session.before_fork()
    _hold_signals()  # last: nothing after it can be interrupted before the fork


def _after_fork_in_parent():
    """A bare fork (no Process.start around it): the parent's end of its launch arrow, at the call
    that forks (its id from this process's pid and the fork's number, as the child computes it)."""
    try:
        _session.after_fork_in_parent()  # the first after hook: back to the file
    finally:
        _release_signals()
    try:
        thread = get_ident()
        if thread in _launching or thread in _preexec_forkers or _in_forkserver:
            return
        if not _trace_children:
            return
        flow = launch_flow("s", "fork", 0, get_native_id(), _fork_started_ns,
                           bare_fork_id(_real_getpid(), _fork_seq))
        _session.add_event(flow)
    except Exception as error:  # noqa: BLE001
        debug.swallowed("the parent's end of a fork's arrow", error)


# --- launch arrows ------------------------------------------------------------------------------


def _record_launch(child_pid, kind, started_ns):
    """Queues the parent's end of a launch arrow: the first call this thread made after
    `started_ns` (the launching call the hook wrapped)."""
    try:
        flow = launch_flow("s", kind, child_pid, get_native_id(), started_ns)
        flow["args"] = {"bind": "next"}
        _session.add_event(flow)
    except Exception as error:  # noqa: BLE001 - the launch happened; only its arrow is lost
        debug.swallowed("a launch arrow", error)


def _launching_call(original, kind_of):
    """Wraps a launching call (`Process.start`, `Popen.__init__`) to record its launch arrow.

    `kind_of(self)` gives the launch kind, or None when nothing was started.
    """

    def launch(self, *args, **kwargs):
        thread = get_ident()
        if thread in _launching:
            return original(self, *args, **kwargs)
        _launching.add(thread)
        started = _clock()
        try:
            result = original(self, *args, **kwargs)
        finally:
            _launching.discard(thread)
        try:
            pid = getattr(self, "pid", None)
            kind = kind_of(self)
            if isinstance(pid, int) and pid > 0 and kind:
                _record_launch(pid, kind, started)
        except Exception as error:  # noqa: BLE001
            debug.swallowed("a launch arrow", error)
        return result

    _copy_identity(launch, original)
    return launch


def _process_kind(process):
    return getattr(getattr(process, "_popen", None), "method", None) or "fork"


# --- exec --------------------------------------------------------------------------------------


def _execv(path, argv):
    """`os.execv` (and execl, execlp, execvp): writes the trace, then replaces the process."""
    return _exec(path, argv, None)


def _execve(path, argv, env):
    """`os.execve` (and execle, execlpe, execvpe, spawn*e): the same, with the shim in `env`."""
    return _exec(path, argv, env)


def _exec(path, argv, env):
    if not _can_exec(path):
        # It fails without replacing anything (execvp tries each PATH entry): keep tracing.
        return _real_execv(path, argv) if env is None else _real_execve(path, argv, env)
    file_name = _session.file_name
    if env is None:
        new_env = _child_env(None)
        if new_env is None:
            previous = os.environ.get(EXEC_OF_ENV)
            os.environ[EXEC_OF_ENV] = file_name
        else:
            new_env[EXEC_OF_ENV] = file_name
    else:
        new_env = _child_env(env)
        new_env[EXEC_OF_ENV] = file_name
    if _trace_children:
        _record_exec()
    _finish("exec")
    try:
        if new_env is None:
            _real_execv(path, argv)
        else:
            _real_execve(path, argv, new_env)
    except BaseException:
        if env is None and new_env is None:
            if previous is None:
                os.environ.pop(EXEC_OF_ENV, None)
            else:
                os.environ[EXEC_OF_ENV] = previous
        _resume_after_failed_exec()
        raise


def _record_exec():
    """The exec arrow's first end: the call that execs (the successor keeps the pid)."""
    try:
        pid = _real_getpid()
        _session.add_event(launch_flow("s", "exec", pid, get_native_id(), _clock()))
    except Exception as error:  # noqa: BLE001
        debug.swallowed("an exec's arrow", error)


def _can_exec(path):
    if isinstance(path, int):
        return True  # fexecve: a file descriptor
    try:
        return os.access(path, os.X_OK) and not os.path.isdir(path)
    except (TypeError, ValueError):
        return False


def _resume_after_failed_exec():
    """The file was finished for an exec that did not happen: record on into a new file."""
    try:
        resume = getattr(_session, "resume_after_exec_failure", None)
        if resume is not None:
            resume()
        else:
            _session.restart_after_fork(None)
            if _process_name:
                _session.set_process_name(_process_name)
    except Exception as error:  # noqa: BLE001
        debug.swallowed("recording on after a failed exec", error)


# --- children with a custom environment ---------------------------------------------------------


def _child_env(env):
    """A copy of `env` with the shim's variables re-added.

    `env` None means "inherit os.environ": returns None when os.environ still carries the shim,
    else a fixed copy of os.environ. Only called when children are traced.
    """
    if env is None:
        if _shim_present(os.environ):
            return None
        env = os.environ
    env = dict(env)
    if any(isinstance(key, bytes) for key in env):
        encode = os.fsencode
        path_key, config_key, separator = b"PYTHONPATH", os.fsencode(_CONFIG_ENV), os.fsencode(os.pathsep)
    else:
        encode = str
        path_key, config_key, separator = "PYTHONPATH", _CONFIG_ENV, os.pathsep
    shim_dir = encode(_shim_dir)
    entries = [entry for entry in env.get(path_key, encode("")).split(separator) if entry]
    env[path_key] = separator.join([shim_dir] + [entry for entry in entries if entry != shim_dir])
    env[config_key] = encode(_config_text)
    return env


def _shim_present(environ):
    if environ.get(_CONFIG_ENV) != _config_text:
        return False
    return _shim_dir in environ.get("PYTHONPATH", "").split(os.pathsep)


def _posix_spawn(path, argv, env, **kwargs):
    """`os.posix_spawn` with the shim in the child's environment."""
    return _real_posix_spawn(path, argv, _spawn_env(env), **kwargs)


def _posix_spawnp(path, argv, env, **kwargs):
    """`os.posix_spawnp` with the shim in the child's environment."""
    return _real_posix_spawnp(path, argv, _spawn_env(env), **kwargs)


def _spawn_env(env):
    fixed = _child_env(env)
    return env if fixed is None else fixed


def _patch_subprocess(module):
    popen = module.Popen
    real_init = popen.__init__
    # The launch arrow starts at the real __init__ (the env fix-up below calls recorded code).
    original = _launching_call(real_init, lambda _popen: "subprocess")

    def __init__(self, args, *rest, **kwargs):
        # env and preexec_fn are Popen's 11th and 7th parameters (args included) on every
        # supported Python.
        if _trace_children:
            if len(rest) >= 10:
                rest = rest[:9] + (_spawn_env(rest[9]),) + rest[10:]
            else:
                kwargs["env"] = _spawn_env(kwargs.get("env"))
        preexec = rest[5] if len(rest) >= 6 else kwargs.get("preexec_fn")
        if preexec is None:
            original(self, args, *rest, **kwargs)
            return
        thread = get_ident()
        _preexec_forkers.add(thread)
        try:
            original(self, args, *rest, **kwargs)
        finally:
            _preexec_forkers.discard(thread)

    _copy_identity(__init__, real_init)
    popen.__init__ = __init__


# --- process names ------------------------------------------------------------------------------


def _patch_multiprocessing_process(module):
    original = module.BaseProcess._bootstrap

    def _bootstrap(self, *args, **kwargs):
        try:
            _set_process_name(self.name)
        except Exception as error:  # noqa: BLE001
            debug.swallowed("naming a multiprocessing process", error)
        return original(self, *args, **kwargs)

    _copy_identity(_bootstrap, original)
    module.BaseProcess._bootstrap = _bootstrap
    module.BaseProcess.start = _launching_call(module.BaseProcess.start, _process_kind)


# The helper processes multiprocessing starts itself, told by the code they run.
_HELPER_MAINS = (
    "from multiprocessing.forkserver import main",
    "from multiprocessing.resource_tracker import main",
)


def _patch_spawnv_passfds(module):
    """multiprocessing starts its fork server and resource tracker with util.spawnv_passfds (a
    fork and exec below subprocess): their launch arrows start there. (A spawn child started the
    same way gets its arrow from Process.start.)"""
    original = module.spawnv_passfds

    def spawnv_passfds(path, args, passfds):
        started = _clock()
        pid = original(path, args, passfds)
        try:
            if any(isinstance(arg, str) and main in arg for arg in args for main in _HELPER_MAINS):
                _record_launch(pid, "spawn", started)
        except Exception as error:  # noqa: BLE001 - the helper started; only its arrow is lost
            debug.swallowed("a helper process's launch arrow", error)
        return pid

    _copy_identity(spawnv_passfds, original)
    module.spawnv_passfds = spawnv_passfds


def _patch_setproctitle(module):
    """A process that sets its own title (gunicorn's and celery's workers with the setproctitle
    package, Ray's `ray::Actor.method` with ray._raylet's copy) is named by its latest title."""
    original = module.setproctitle

    def setproctitle(title, *args, **kwargs):
        result = original(title, *args, **kwargs)
        try:
            _set_process_name(str(title))
        except Exception as error:  # noqa: BLE001
            debug.swallowed("naming the process from its title", error)
        return result

    _copy_identity(setproctitle, original)
    module.setproctitle = setproctitle


def _patch_forkserver(module):
    """Names the fork server process and marks its forks as the workers it serves."""
    original = module.main

    def main(*args, **kwargs):
        global _in_forkserver
        _in_forkserver = True
        try:
            _set_process_name("multiprocessing.forkserver")
        except Exception as error:  # noqa: BLE001
            debug.swallowed("naming a helper process", error)
        return original(*args, **kwargs)

    _copy_identity(main, original)
    module.main = main


def _name_main(name):
    """A patcher naming the process `name` when the module's `main()` (a helper process) runs."""

    def patch(module):
        original = module.main

        def main(*args, **kwargs):
            try:
                _set_process_name(name)
            except Exception as error:  # noqa: BLE001
                debug.swallowed("naming a helper process", error)
            return original(*args, **kwargs)

        _copy_identity(main, original)
        module.main = main

    return patch


def _copy_identity(wrapper, wrapped):
    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(wrapper, attribute, getattr(wrapped, attribute, None))
    wrapper.__wrapped__ = wrapped


# --- patching modules when the program imports them ---------------------------------------------

_pending_patches = {}


def _patch_on_import(name, patch):
    module = sys.modules.get(name)
    if module is not None:
        _apply_patch(patch, module)
        return
    _pending_patches[name] = patch
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


class _PatchingFinder:
    """Meta path finder: patches a watched module right after it executed; invisible otherwise."""

    def find_spec(self, name, path=None, target=None):
        patch = _pending_patches.get(name)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or isinstance(loader, type) or not hasattr(loader, "exec_module"):
            return spec  # a frozen or builtin module: cannot wrap per instance, leave it alone
        exec_module = loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            if _pending_patches.pop(name, None) is not None:
                _apply_patch(patch, module)
            if not _pending_patches and self in sys.meta_path:
                sys.meta_path.remove(self)

        loader.exec_module = exec_and_patch
        return spec


_finder = _PatchingFinder()


def _apply_patch(patch, module):
    """Patches a module the program imported. Patches read private names (Pool's result classes,
    the executor's worker function): a CPython that changed them loses that feature (a name, an
    arrow), never the program, and TRACER_DEBUG says which patch failed."""
    try:
        patch(module)
    except Exception as error:  # noqa: BLE001 - the module itself loaded fine
        if debug.ENABLED:
            debug.log("patching %s failed: %r" % (getattr(module, "__name__", module), error))
