"""--log_async: each asyncio task gets a row of its own under the thread of its event loop, named
by the task's name, with the task's steps on it (slices named by its coroutine).

A row is a thread of its own in the trace: a tid from TASK_TID_BASE up (no OS thread has one that
high), named by a `thread_name` event. `thread_sort_index` events put the threads in the order
they started recording, each followed by the rows of its loop's tasks (threads.ThreadRegistry
spaces their indexes SORT_SPACING apart). A step is one run of a task's callback by the loop
(asyncio.events.Handle._run, Python code on every version), found by the callback's `__self__`
(the task, for both the C and the Python Task). A process gets at most MAX_TASK_ROWS task rows;
the steps of later tasks go on one more row per loop thread, "other tasks".
"""

import sys
import weakref
from _thread import get_native_id
from itertools import count
from time import perf_counter_ns

from . import debug
from .events import ns_to_us

TASK_TID_BASE = 1 << 30
MAX_TASK_ROWS = 1000
SORT_SPACING = MAX_TASK_ROWS + 2  # room for a loop's task rows and its "other tasks" row


class TaskRows:
    """The rows of one process's tasks (a fork child starts over: its tasks are its own)."""

    def __init__(self, session):
        self._session = session
        self._rows = weakref.WeakKeyDictionary()  # task -> its row's tid
        self._loops = {}  # loop thread's tid -> (its sort index, tid of its "other tasks" row)
        # Row numbers, each taken in one atomic step (a C call under the GIL): loops in two
        # threads naming rows at once never share one.
        self._numbers = count(1).__next__
        self._pid = 0

    def row_of(self, task):
        """The tid of the row of `task`, named (and sorted) the first time."""
        try:
            return self._rows[task]
        except KeyError:
            pass
        except TypeError:  # a task type without weak references
            return None
        session = self._session
        if self._pid != session.pid():
            self._pid = session.pid()
            self._rows = weakref.WeakKeyDictionary()
            self._loops = {}
            self._numbers = count(1).__next__
        loop_tid = get_native_id()
        loop = self._loops.get(loop_tid)
        if loop is None:
            state = getattr(session.threads.local, "state", None)
            loop = self._loops[loop_tid] = (0 if state is None else state.sort_index, None)
        if loop[1] is not None:  # past the cap
            self._rows[task] = loop[1]
            return loop[1]
        number = self._numbers()
        tid = TASK_TID_BASE + number
        if number > MAX_TASK_ROWS:
            self._loops[loop_tid] = (loop[0], tid)
            self._name(tid, "other tasks", loop[0] + SORT_SPACING - 1)
        else:
            self._name(tid, _task_name(task), loop[0] + number)
        self._rows[task] = tid
        return tid

    def _name(self, tid, name, index):
        session = self._session
        session.add_event({"ph": "M", "pid": session.pid(), "tid": tid, "name": "thread_name",
                           "args": {"name": name}})
        session.add_event({"ph": "M", "pid": session.pid(), "tid": tid,
                           "name": "thread_sort_index", "args": {"sort_index": index}})


def _task_name(task):
    try:
        return str(task.get_name())
    except Exception:  # noqa: BLE001 - a Task subclass's own get_name
        return "Task"


def _coroutine_name(task):
    coro = getattr(task, "_coro", None)
    if coro is None:
        try:
            coro = task.get_coro()
        except Exception:  # noqa: BLE001
            return "task step"
    name = getattr(coro, "__qualname__", None)
    return name if isinstance(name, str) else "task step"


def patch_handle(session):
    """The patch of asyncio.events (hooks.py applies it when the program imports it); it returns
    the function that undoes it."""
    rows = TaskRows(session)

    def patch(events):
        handle = events.Handle
        run = handle._run

        def _run(self):
            task = getattr(self._callback, "__self__", None)
            tasks = sys.modules.get("asyncio.tasks")
            if tasks is None or not session.recording() or not isinstance(
                task, (tasks.Task, getattr(tasks, "_PyTask", tasks.Task))
            ):
                return run(self)
            start = perf_counter_ns()
            try:
                return run(self)
            finally:
                end = perf_counter_ns()
                try:  # an error here would replace the step's own outcome
                    tid = rows.row_of(task)
                    if tid is not None:
                        session.emit({"ph": "X", "tid": tid, "ts": ns_to_us(start),
                                      "dur": ns_to_us(end - start),
                                      "name": _coroutine_name(task), "cat": "asyncio",
                                      "args": {"task": _task_name(task)}})
                except Exception as error:  # noqa: BLE001
                    debug.swallowed("recording a task step", error)

        _run.__qualname__ = run.__qualname__
        _run.__wrapped__ = run
        handle._run = _run

        def undo():
            if handle._run is _run:
                handle._run = run

        return undo

    return patch
