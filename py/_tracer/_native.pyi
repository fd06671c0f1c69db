"""Type stub of _tracer._native (_native.c), the native recording core; core_native.py drives it.

Each thread stores its open calls and finished calls straight into two blocks of the raw file,
which it asks the registry's writer for (writer.TraceWriter.stack_block / events_block), and
names come from the writer's code_id / c_function_id. Every function runs with the GIL held.
"""

from types import CodeType
from typing import Any, Callable, Tuple

from .threads import ThreadRegistry

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
) -> None:
    """Sets what the callbacks record: the filters, and where threads and blocks come from."""

def stop() -> None:
    """Stops recording (no I/O: what was recorded is in the file already)."""

def counts() -> Tuple[int, int]:
    """(calls dropped past the cap, the most recorded calls open at once in one thread)."""

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
