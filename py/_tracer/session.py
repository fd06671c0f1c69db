"""One traced process: its output file, its recording core, and how it ends or forks.

hooks.py drives the ends (atexit, os._exit, exec, signals, fork) through finish(),
restart_after_fork() and set_process_name(); nothing here registers any hook itself.
"""

import os
import sys
from _thread import get_native_id
from time import perf_counter_ns, time_ns

from . import SHIM_FILE_PREFIX, debug
from .constants import EXEC_OF_ENV
from .core import select_core
from .names import NameTable
from .threads import ThreadRegistry
from .writer import FORMAT_VERSION, TraceWriter

_clock = perf_counter_ns
_getpid = os.getpid
_SHIM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The shim's files outside the _tracer package (whose code has SHIM_FILE_PREFIX names).
_SHIM_ENTRIES = (os.path.join(_SHIM_DIR, "sitecustomize.py"), os.path.join(_SHIM_DIR, "tracer_api.py"))


# The rank variables distributed launchers set, tried in this order: (rank, world size).
_RANK_VARIABLES = (
    ("RANK", "WORLD_SIZE"),  # torch.distributed (torchrun); LOCAL_RANK is added
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),  # Open MPI
    ("PMI_RANK", "PMI_SIZE"),  # MPICH / Hydra, Intel MPI
    ("PMIX_RANK", None),  # PMIx
    ("SLURM_PROCID", "SLURM_NTASKS"),  # Slurm
)


def rank_label(environ):
    """`rank R/N` (torch: `, local L` too) when a launcher gave this process a rank, else ""."""
    for rank_name, size_name in _RANK_VARIABLES:
        rank = environ.get(rank_name, "")
        if not rank.isdigit():
            continue
        if rank_name == "RANK" and "WORLD_SIZE" not in environ:
            continue  # RANK alone is too common a name to mean torch.distributed
        size = environ.get(size_name, "") if size_name else ""
        label = "rank %s/%s" % (rank, size) if size.isdigit() else "rank %s" % rank
        local = environ.get("LOCAL_RANK", "")
        if rank_name == "RANK" and local.isdigit():
            label += ", local %s" % local
        return label
    return ""


class Session:
    """The tracer in one process: owns the file, the threads' states and the core."""

    def __init__(self, config):
        if sys.byteorder != "little":  # the cores store numbers as the CPU does (docs, 2a)
            raise RuntimeError("the trace format is little-endian, this CPU is not")
        self.config = config
        self._start_cwd = _safe_cwd()
        self._argv = list(getattr(sys, "orig_argv", None) or [sys.executable] + sys.argv)
        self._process_name = None
        self._rank = rank_label(os.environ)
        self._exec_of = os.environ.pop(EXEC_OF_ENV, None)
        self._finishing = True  # until start(): nothing to finish
        self._detached = False  # a fork child that only execs: it writes nothing
        self.names = NameTable(_make_code_filter(config, self._start_cwd))
        self.threads = ThreadRegistry()
        # The modules of the options beyond the calls are imported only when asked for (start-up
        # time in every process).
        if config.log_async:
            from .async_tasks import SORT_SPACING

            self.threads.sort_spacing = SORT_SPACING
        self._writer = self._new_writer(self.names)
        self.threads.writer = self._writer
        self.file_name = self._writer.file_name
        values = None
        if config.log_func_args or config.log_func_retval or config.log_exception:
            from .values import prepare

            prepare()
        if config.log_func_args or config.log_func_retval:
            from .call_values import CallValues

            values = CallValues(self.threads, self.names, config.log_func_args,
                                config.log_func_retval)
        # core_note: why the native core is not recording (None when it is, or was not asked for)
        self._core, self.core_note = select_core(config, self.threads, self.names, values)
        # Imported now, not once recording runs: the import's own calls are not the program's.
        self._gc_passes = self._raised = None
        if config.log_gc:
            from . import gc_passes

            self._gc_passes = gc_passes
        if config.log_exception:
            from . import raised

            self._raised = raised
        self.core_kind = self._core.kind
        self.root = False  # the CLI's own child (bootstrap sets it): no traced parent
        self._sigterm_normal = False  # a pool worker: its pool ends it with SIGTERM
        self._launch = None  # (kind, parent pid) of this process, for otherData

    def _new_writer(self, names):
        writer = TraceWriter(self.config, _getpid(), names)
        writer.on_lost = self._writing_stopped
        return writer

    def _writing_stopped(self, _reason):
        """The file cannot take more (disk full, ...): stop recording, the program runs on."""
        try:
            self._core.stop()
        except Exception as error:  # noqa: BLE001 - nothing of the tracer may reach the program
            debug.swallowed("stopping the core after a failed write", error)

    def start(self):
        """Writes the file header and starts recording in every thread."""
        try:
            if not self.root:
                kind = "exec" if self._exec_of else _fresh_launch_kind(self._argv)
                self._launch = (kind, _getpid() if self._exec_of else os.getppid())
            self._writer.write_header(self._other_data(None))
            self._writer.write_process_name(self._current_process_name(final=False))
            self._core.start()
            self._start_recorders()
        except BaseException:
            self._writer.abandon()  # leave no empty file behind: this process is not traced
            _remove(os.path.join(self.config.output_dir, self.file_name))
            raise
        self._finishing = False

    def _start_recorders(self):
        """Starts recording what the config asks for beyond the calls (the in-program API
        records into bootstrap.session, once the program imports it)."""
        if self._gc_passes is not None:
            self._gc_passes.install(self)
        self._watch_raises()

    def _watch_raises(self):
        """--log_exception, through the core's sys.monitoring tool (again after a restart: the
        tool may be another)."""
        tool = self._core.monitoring_tool()
        if self._raised is not None and tool is not None:
            self._raised.install(self, tool)

    def finish(self, reason):
        """Stops recording, writes the names as they are now and tracerEnd; idempotent."""
        if self._finishing:  # already done, or a signal arrived while finishing: touch nothing
            return
        self._finishing = True
        core = self._core
        lost = core.lost_reason()
        core.stop()
        end_ns = _clock()
        writer = self._writer
        writer.write_process_name(self._current_process_name())
        self._write_thread_names(writer)
        if lost is not None and writer.lost is None:
            writer.lost = lost
        dropped, deepest = core.counts()
        end = {"exit": reason, "end_mono_ns": end_ns, "dropped_events": dropped,
               "deepest_stack": deepest}
        if reason == "signal:SIGTERM" and self._sigterm_normal:
            end["normal_end"] = True
        writer.close(end)

    def restart_after_fork(self, launch="fork", bare_fork=None):
        """In a forked child: forgets the parent's events and file, records on into a new file.

        `launch` says how the child was forked (`fork`, `forkserver`); None when the same process
        records on after an exec that failed. `bare_fork` is the parent's fork number when no
        launching call the hooks wrap was around the fork (its launch arrow's id).
        """
        fork_ns = _clock()
        resuming = self._finishing  # finished for an exec that failed: the same process records on
        parent = self._writer
        parent.abandon()
        # Every name id the core holds stays valid: the new file names them all first.
        writer = self._new_writer(parent.names)
        # The header first, before anything can reach the new file: a finish from a signal
        # handler must never put records ahead of it.
        writer.write_header(self._other_data(parent.file_name))
        writer.write_process_name(self._current_process_name(final=False))
        if launch is not None:
            self._launch = (launch, parent.pid)
            # The child's end of its launch arrow: the stack it inherited (bound to the slice
            # open just after the fork, `bp: "e"`).
            flow_id = None if bare_fork is None else bare_fork_id(parent.pid, bare_fork)
            flow = launch_flow("f", launch, _getpid(), get_native_id(), fork_ns + _FORK_FLOW_NS,
                               flow_id)
            flow["bp"] = "e"
            writer.add_event(flow)
        self._writer = writer
        self.file_name = writer.file_name
        self.threads.writer = writer
        if resuming:
            self._core.resume()
        else:
            self._core.after_fork(fork_ns)
        self._write_thread_names(writer)
        if resuming:
            self._finishing = False
            self._stop_repr_thread()  # 3.9-3.11: the core's start would reach it too
            self._core.start()
            self._watch_raises()

    def redeliver_signal(self, signum):
        """See Core.redeliver_signal (a life-cycle service of the native library)."""
        try:
            return self._core.redeliver_signal(signum)
        except Exception:  # noqa: BLE001 - the signal is handled as before, only not re-sent
            return False

    def signal_seen(self, signum):
        """See Core.signal_seen."""
        self._core.signal_seen(signum)

    def owns_file(self):
        """False in a fork child whose file is still the parent's (the fork hook has not run)."""
        return self._detached or self._writer.pid == _getpid()

    def detach_after_fork(self):
        """In a forked child that only execs (subprocess's preexec_fn): records and writes nothing."""
        self._finishing = True
        self._detached = True
        self._core.stop()
        self._writer.abandon()

    def mark_launched(self):
        """The program's code starts now (sitecustomize is done): queues the child's end of its
        launch arrow, bound to the next call this thread makes."""
        if self._launch is not None and not self._finishing:
            flow = launch_flow("f", self._launch[0], _getpid(), get_native_id(), _clock())
            # For the report: the program's main call, not the import machinery's tail that runs
            # first (Perfetto binds the next slice).
            flow["args"] = {"bind": "main"}
            self.add_event(flow)

    def add_event(self, event):
        """Writes a Trace Event of the tracer's own (an arrow's end, a name) into the file."""
        self._writer.add_event(event)

    def emit(self, event, counted=True):
        """Writes an event the program's run made outside the calls (an instant, a counter, a
        span's end, a gc pass), a dict with its `ph`, `ts` and `tid`, when recording and under
        the event cap (`counted`: the end of a span admitted when it began is not counted
        again); True when it is in the file."""
        if self._finishing or (counted and not self._core.admit()):
            return False
        event["pid"] = self._writer.pid
        return self._writer.add_event(event)

    def pid(self):
        """The pid of the file being written (this process's, once a fork child has its own)."""
        return self._writer.pid

    def recording(self):
        """True while this process records (started, not finished)."""
        return not self._finishing

    def monitoring_tool(self):
        """See Core.monitoring_tool."""
        return self._core.monitoring_tool()

    def sigterm_is_normal_end(self):
        """This process is a pool's worker: a SIGTERM is how its pool ends it (Pool.terminate(),
        a `with Pool()` block left), so tracerEnd says `normal_end` and the report marks nothing."""
        self._sigterm_normal = True

    def watch_running(self):
        """Recording started in a running process (tracer attach): the code of every frame of
        every thread, where recorded, is watched from now on (Core.watch_running)."""
        codes = {}
        for frame in sys._current_frames().values():
            while frame is not None:
                code = frame.f_code
                if self.names.code_id(code) >= 0:
                    codes[id(code)] = code
                frame = frame.f_back
        self._core.watch_running(list(codes.values()))

    def before_fork(self):
        """See Core.before_fork; the repr thread, if there is one, ends first (values.py)."""
        self._stop_repr_thread()
        self._core.before_fork()

    @staticmethod
    def _stop_repr_thread():
        """Ends the repr thread when it is idle (values.py), if the process has one."""
        values = sys.modules.get(__package__ + ".values")
        if values is not None:
            values.stop_idle_thread()

    def after_fork_in_parent(self):
        """See Core.after_fork_in_parent."""
        self._core.after_fork_in_parent()

    def thread_renamed(self, thread):
        """A threading.Thread got a new name: the file has it at once."""
        state = self.threads.by_thread(thread)
        if state is not None:
            self._writer.write_thread_name(state.tid, state.current_name())

    def _write_thread_names(self, writer):
        """Every thread's name as it is now (each written when it changed)."""
        for state in self.threads.all_threads():
            writer.write_thread_name(state.tid, state.current_name())

    def set_process_name(self, name):
        """Replaces the process_name M event (multiprocessing names its processes, a program
        sets its title)."""
        self._process_name = str(name)
        self._writer.write_process_name(self._current_process_name())

    def _current_process_name(self, final=True):
        """The process_name, with its rank under a distributed launcher: set by the hooks, else
        the command line ("" if not known yet)."""
        name = self.base_process_name(final)
        return "%s [%s]" % (name, self._rank) if name and self._rank else name

    def base_process_name(self, final=True):
        """The process_name without the rank: what a fork child's name is made of."""
        if self._process_name:
            return self._process_name
        argv = list(self._argv)
        if argv:
            argv[0] = os.path.basename(argv[0])
        if argv[1:2] == ["-m"] and not hasattr(sys, "orig_argv"):
            # 3.8/3.9: at start-up sys.argv is ["-m", args...], the module name comes later
            spec = getattr(sys.modules.get("__main__"), "__spec__", None)
            if spec is not None:
                argv.insert(2, spec.name)
            elif not final:
                return ""
        return " ".join(argv)

    def _other_data(self, parent_file):
        data = {
            "tracer_version": FORMAT_VERSION,
            "pid": _getpid(),
            "ppid": os.getppid(),
            "argv": self._argv,
            "cwd": self._start_cwd,
            "python": sys.version.split()[0],
            "executable": sys.executable,
            "host": os.uname().nodename,
            "boot_id": _boot_id(),
            "clock": {"epoch_ns": time_ns(), "mono_ns": _clock()},
            "core": self._core.kind,
        }
        if self.core_note:
            data["core_note"] = self.core_note
        if self.config.flight_s > 0:
            data["flight_s"] = self.config.flight_s  # the reader keeps the last S seconds
        else:  # the reader keeps the first and the last calls (cap_ring.py)
            data["event_cap"] = self.config.tracer_entries
        if self._exec_of:
            data["exec_of"] = self._exec_of
        if parent_file:
            data["parent_file"] = parent_file
        if self._launch is not None:
            data["launch"], data["parent_pid"] = self._launch
        return data


# A fork child's end of its launch arrow is this much after the fork, inside the calls it
# inherited (which all restart at the fork) rather than on their common start.
_FORK_FLOW_NS = 50


def launch_flow(phase, kind, child_pid, tid, ns, flow_id=None):
    """A flow event of the launch arrow of `child_pid` (`s`: the parent's end, `f`: the child's).

    Both ends derive the id from the child's pid, so they match without talking to each other;
    an exec successor (same pid) has its own id; a bare fork's is given (`bare_fork_id`).
    """
    if flow_id is None:
        flow_id = child_pid * 4 + (2 if kind == "exec" else 1)
    return {"ph": phase, "id": flow_id, "pid": _getpid(), "tid": tid, "ts": ns / 1000,
            "cat": "tracer.launch", "name": kind}


def bare_fork_id(parent_pid, fork_number):
    """The launch arrow id of a bare `os.fork` (the parent does not learn the child's pid in its
    fork hooks, but both sides know the parent's pid and how many forks it made)."""
    return (1 << 49) + (parent_pid * 1000003 + fork_number) % (1 << 46)


def _fresh_launch_kind(argv):
    """How a process that is no fork child was started: by multiprocessing (spawn) or not."""
    for arg in argv:
        if arg == "--multiprocessing-fork" or "from multiprocessing." in arg:
            return "spawn"
    return "subprocess"


def _make_code_filter(config, start_cwd):
    """Returns code -> bool: record this code object? (never the shim's own code)."""
    include = tuple(config.include_files)
    exclude = tuple(config.exclude_files)
    join = os.path.join

    def is_recorded(code):
        path = code.co_filename
        if path.startswith(SHIM_FILE_PREFIX) or path in _SHIM_ENTRIES:
            return False
        if not include and not exclude:
            return True
        if not path.startswith("/") and not path.startswith("<"):
            path = join(start_cwd, path)
        if include and not path.startswith(include):
            return False
        return not (exclude and path.startswith(exclude))

    return is_recorded


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _safe_cwd():
    try:
        return os.getcwd()
    except OSError:
        return ""


def _boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as file:
            return file.read().strip()
    except OSError:
        return ""
