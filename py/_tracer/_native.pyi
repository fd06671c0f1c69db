"""Type stub of _tracer._native (_native.c), the native recording core; core_native.py drives it.

Each thread stores its open calls and finished calls straight into two blocks of the raw file,
which it asks the registry's writer for (writer.TraceWriter.stack_block / events_block), and
names come from the writer's code_id / c_function_id. Every function runs with the GIL held.

Values mode (configure(values=...)): see `Values` below; the core calls it, the values object
writes; with configure(native_values=...), the core writes the values itself.
"""

from types import CodeType
from types import FrameType
from typing import Any, Callable, Optional, Protocol, Tuple

from .threads import ThreadRegistry

class Values(Protocol):
    """What configure(values=...) is given (--log_func_args, --log_func_retval); start, finish
    and NO_VALUE are read once, by configure()."""

    NO_VALUE: object  # finish()'s retval when the call ended by an exception

    def start(self, frame: FrameType, tid: int, depth: int, name_id: int) -> object:
        """A recorded Python call starts (called before the clock is read for its start): `frame`
        the frame that starts, `depth` the 0-based stack slot it takes. 3.12+: PY_START only (no
        call for resumes); 3.8-3.11: every "call" event, a generator's resume too (the frame tells).
        Returns the call's token (None: none), kept until the call ends or its slot is dropped;
        an error raised is reported and taken as None."""

    def finish(self, tid: int, start: int, duration: int, name_id: int, token: object,
               retval: object) -> object:
        """A call that got a token ends, with a duration of at least min_ns (called after the
        clock is read, before the depth goes down): `retval` the value returned or yielded, or
        NO_VALUE. True: the call was written whole (it is not stored in the events block);
        else (an error raised too) it is stored as any call. The token is released after."""

def configure(
    *,
    registry: ThreadRegistry,
    last_event_slots: int,
    check_interval_ns: int,
    max_depth: int,
    cap: int,
    min_ns: int,
    ignore_c: bool,
    debug: bool,
    values: Optional[Values] = None,
    native_values: Optional[Tuple[bool, bool, Callable[[object], str]]] = None,
) -> None:
    """Sets what the callbacks record: the filters, where threads and blocks come from, and the
    values object of values mode (None: off). The counts start again at 0.

    `native_values` (with `values`, a call_values.CallValues: its native_values()): (log args,
    log return values, values.text_of): the core records the values itself, as CallValues.start
    and finish would, into each thread's V block and O record (from the writer's values_block and
    open_args_block), rendering exact ints, bools, None, floats and strs itself and every other
    value with text_of; values.start and finish are not called."""

def stop() -> None:
    """Stops recording (no I/O: what was recorded is in the file already); the tokens of the
    calls still open are released (values is not called again)."""

def admit() -> bool:
    """An event the session records outside calls takes a place under the cap on events written
    whole (True), or is counted as dropped (False)."""

def counts() -> Tuple[int, int]:
    """(events written whole dropped past their cap, the most recorded calls open at once in one
    thread)."""

def before_fork() -> None:
    """The calling thread records into private memory until after_fork(_in_parent)."""

def after_fork_in_parent() -> None:
    """Back to the file's blocks, with what the calling thread recorded since before_fork."""

def after_fork(fork_ns: int) -> None:
    """In a fork child whose writer is installed: drops the other threads; the calling thread's
    open calls restart at fork_ns and move to the new file with what it recorded since."""

def resume() -> None:
    """Every thread's open calls move to the registry's new writer (an exec that failed)."""

def redeliver_signal(signum: int) -> bool:
    """Re-sends signum to the main thread every 10 ms until signal_seen(signum) (Linux only)."""

def signal_seen(signum: int) -> None:
    """The Python handler of signum runs: no more re-sending."""

# CPython 3.12+: the sys.monitoring callbacks, and how they are switched on.
def start_monitoring(
    set_local_events: Callable[[int, CodeType, int], Any], tool: int, local_events: int,
    disable: object,
) -> None:
    """Recording starts: PY_START switches `local_events` on for each recorded code object."""

def take_enabled_codes() -> list:
    """The code objects whose local events were switched on (the list is emptied)."""

def py_start(code: CodeType, offset: int) -> object: ...
def py_resume(code: CodeType, offset: int) -> None: ...
def py_return(code: CodeType, offset: int, value: object) -> None: ...
def py_throw(code: CodeType, offset: int, exception: BaseException) -> None: ...
def py_unwind(code: CodeType, offset: int, exception: BaseException) -> None: ...
def call(code: CodeType, offset: int, callable: object, arg0: object) -> None: ...
def c_return(code: CodeType, offset: int, callable: object, arg0: object) -> None: ...

# CPython 3.8-3.11: the C profile hook.
def start() -> None:
    """Sets the profile hook in every thread this Python can reach (3.9+: running ones too)."""

def attach() -> None:
    """Sets the profile hook in the calling thread."""

def thread_profile(frame: Any, event: str, arg: object) -> None:
    """threading.setprofile() hook: a new thread's first event installs the C hook in it."""
