"""Every thread's recording state, and the Python cores' pairing of calls with returns.

A ThreadState holds a thread's two blocks in the raw file (writer.py): its events block, where each
finished call is stored as it returns, and its open-calls record, where each call is stored as it
starts. Both are memoryviews of the mapping, so nothing a thread recorded is only in process
memory. `push` and `pop` are the Python cores' hot path (core_profile.py, core_monitoring.py); the
native core keeps the same two blocks in C (_native.c) and uses a ThreadState for the thread's
identity only.

From the shim's last `before` fork hook until the fork child has its own file (or, in the parent,
until the shim's first `after_in_parent` hook), the forking thread records into private memory:
the parent's mapping is shared with the child, which must never store into it.
"""

import sys
import threading
from _thread import get_ident, get_native_id
from itertools import count
from os import getpid

from .pairing import store
from .writer import EVENT_SLOT, EVENTS_HEAD, STACK_HEAD, STACK_SLOT

# Events block sizes: the first is small (many short-lived threads), then each doubles.
FIRST_EVENT_SLOTS = 256
LAST_EVENT_SLOTS = 16_384  # 384 KiB
FIRST_STACK_SLOTS = 64

# ident -> Thread; current_thread() would create dummies mid-callback. A private name: without it
# threads are named by _thread_being_started() or not at all (their native ids stay).
_active = getattr(threading, "_active", {})
_THREADING_FILE = threading.__file__


class ThreadState:
    """One thread's recording state (see the module doc)."""

    __slots__ = ("tid", "ident", "thread", "name", "events", "count", "slots", "stack", "depth",
                 "stack_slots", "private", "_saved", "tokens", "sort_index")

    def __init__(self, ident, tid, thread):
        self.tid = tid
        self.ident = ident
        self.thread = thread  # the threading.Thread, if known
        self.name = None
        self.events = None  # float64 view: tid, count, (start, dur, id) slots
        self.count = 0
        self.slots = 0  # 0: no block yet, the first finished call asks for one
        self.stack = None  # int64 view: tid, depth, (start, id) slots
        self.depth = 0
        self.stack_slots = 0
        self.private = False  # recording into private memory (a fork in progress)
        self._saved = None  # the file's blocks while private, in the parent
        self.tokens = []  # --log_func_args/retval: each open call's token, by depth (pairing.py)
        self.sort_index = 0  # --log_async: the thread's place among the rows (async_tasks.py)

    def current_name(self):
        """The thread's name now, read without running Python code (no property)."""
        thread = self.thread
        if thread is not None:
            name = getattr(thread, "_name", None)
            if isinstance(name, str):
                self.name = name
        return self.name or "Thread %d" % self.tid

    def new_events(self, writer):
        """Makes room for the next finished call (the events block is full or missing)."""
        if self.private:  # keep every call: they move to a file later
            self._private_events(max(2 * self.slots, FIRST_EVENT_SLOTS), self.count)
            return
        slots = min(max(2 * self.slots, FIRST_EVENT_SLOTS), LAST_EVENT_SLOTS)
        block = writer.events_block(self.tid, slots)
        if block is None:  # the file takes no more (recording stops): a scratch block
            self._private_events(FIRST_EVENT_SLOTS, 0)
            return
        self.events = block.cast("d")
        self.count = 0
        self.slots = (len(self.events) - EVENTS_HEAD) // EVENT_SLOT  # maybe fewer than asked

    def _private_events(self, slots, keep):
        events = memoryview(bytearray(8 * (EVENTS_HEAD + EVENT_SLOT * slots))).cast("d")
        if keep:
            end = EVENTS_HEAD + EVENT_SLOT * keep
            events[EVENTS_HEAD:end] = self.events[EVENTS_HEAD:end]
        self.events = events
        self.count = keep
        self.slots = slots

    def new_stack(self, writer, slots=0):
        """Moves the open calls to a record with room for more (or at least `slots`)."""
        slots = max(2 * self.stack_slots, FIRST_STACK_SLOTS, slots)
        block = None if self.private else writer.stack_block(self.tid, slots)
        if block is None:  # private memory: a fork in progress, or the file takes no more
            block = memoryview(bytearray(8 * (STACK_HEAD + STACK_SLOT * slots)))
        self._move_stack(block.cast("q"), slots)

    def _move_stack(self, stack, slots):
        depth = self.depth
        if depth:
            end = STACK_HEAD + STACK_SLOT * depth
            stack[STACK_HEAD:end] = self.stack[STACK_HEAD:end]
        stack[1] = depth
        self.stack = stack
        self.stack_slots = slots

    def go_private(self):
        """Before a fork: records into private memory from now on (the file's blocks are kept
        for `back_to_file` in the parent)."""
        if self.private:
            return
        self._saved = (self.events, self.count, self.slots, self.stack, self.stack_slots)
        self.private = True
        self.events = None
        self.count = self.slots = 0
        stack_slots = max(self.stack_slots, FIRST_STACK_SLOTS)
        self._move_stack(memoryview(bytearray(8 * (STACK_HEAD + STACK_SLOT * stack_slots)))
                         .cast("q"), stack_slots)

    def back_to_file(self, writer):
        """In the parent after a fork: back to the file's blocks, with what was recorded since."""
        saved, self._saved = self._saved, None
        if saved is None:
            return
        self.private = False
        self._adopt(writer, saved)

    def to_new_file(self, writer, fork_ns):
        """Moves the open calls and the calls recorded privately to a new file: in a fork child
        (the open calls restart at `fork_ns`; nothing of the parent's is kept), or in a process
        that records on after an exec failed (`fork_ns` None)."""
        self._saved = None
        self.private = False
        if fork_ns is not None:
            stack = self.stack
            for i in range(STACK_HEAD, STACK_HEAD + STACK_SLOT * self.depth, STACK_SLOT):
                stack[i] = fork_ns
        else:
            self.events = None  # the old file's block: the next call asks the new file for one
            self.count = self.slots = 0
        self._adopt(writer, (None, 0, 0, None, 0))

    def _adopt(self, writer, saved):
        private_events, private_count = self.events, self.count
        self.events, self.count, self.slots, file_stack, file_slots = saved
        if file_stack is not None and file_slots >= self.depth:
            self._move_stack(file_stack, file_slots)
        else:
            self.new_stack(writer, self.depth)
        for i in range(EVENTS_HEAD, EVENTS_HEAD + EVENT_SLOT * private_count, EVENT_SLOT):
            store(self, writer, private_events[i], private_events[i + 1], private_events[i + 2])

    def open_calls(self):
        """(start, name id) of the recorded open calls, outermost first."""
        stack = self.stack
        return [(stack[i], stack[i + 1])
                for i in range(STACK_HEAD, STACK_HEAD + STACK_SLOT * self.depth, STACK_SLOT)
                if stack[i + 1] > 0]


class ThreadRegistry:
    """Every thread's state: created on a thread's first event."""

    def __init__(self):
        self.local = threading.local()  # .state: the current thread's ThreadState
        self.writer = None
        # --log_async: each thread gets a thread_sort_index this far past the previous one, in
        # the order threads start recording, so that task rows fit in between (async_tasks.py).
        self.sort_spacing = 0
        self._sorted = count(1).__next__  # one atomic step: threads starting at once differ
        self._live = {}  # ident -> ThreadState (a thread that ended is replaced by a new ident's)

    def new_thread(self):
        """Creates the calling thread's state and names the thread in the file; called from a
        recording callback."""
        ident = get_ident()
        thread = _active.get(ident) or _thread_being_started()
        state = ThreadState(ident, get_native_id(), thread)
        self._live[ident] = state
        self.local.state = state
        self.writer.write_thread_name(state.tid, state.current_name())
        if self.sort_spacing:
            state.sort_index = self._sorted() * self.sort_spacing
            self.writer.write_thread_sort_index(state.tid, state.sort_index)
        return state

    def by_thread(self, thread):
        """The state of a threading.Thread, if it recorded."""
        state = self._live.get(getattr(thread, "_ident", None))
        return state if state is not None and state.thread is thread else None

    def all_threads(self):
        """Every thread that recorded, the main thread first."""
        threads = list(self._live.values())
        # By tid, not threading.main_thread(): no Python code of the program's may run here (it
        # would be recorded); the main thread's native id is the pid.
        pid = getpid()
        threads.sort(key=lambda state: state.tid != pid)
        return threads

    def after_fork(self):
        """Keeps only the calling thread (the only one a forked child has), with its ids in the
        child; returns its state."""
        survivor = getattr(self.local, "state", None)
        self._live = {}
        if survivor is not None:
            survivor.tid = get_native_id()
            survivor.ident = get_ident()
            self._live[survivor.ident] = survivor
        return survivor


def _thread_being_started():
    """The Thread whose _bootstrap is on the stack (a thread's first events precede _active)."""
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        if code.co_filename == _THREADING_FILE and code.co_name.startswith("_bootstrap"):
            candidate = frame.f_locals.get("self")
            if isinstance(candidate, threading.Thread):
                return candidate
        frame = frame.f_back
    return None
