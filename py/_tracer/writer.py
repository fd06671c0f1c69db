"""What goes into one process's raw file, and when (docs/internals.md, section 2a).

Every core writes through one TraceWriter: it asks for blocks (`events_block`, `stack_block`) and
fills them in place, and asks for name ids (`code_id`, `c_function_id`), which reach the file
before the ids are returned. The writer appends the header, names, process and thread names, flow
events and the end record; rawfile.py does the bytes.
"""

import errno
from _thread import RLock
from os import getpid as _os_getpid
from os import register_at_fork
from os import kill as _os_kill
from time import perf_counter_ns

from . import debug, rawfile
from .constants import CHECK_INTERVAL_NS
from .cap_ring import CapRing
from .ring import FlightRing, reuse

try:  # the C encoder alone: importing json costs ~20 ms of start-up in every process
    from _json import encode_basestring_ascii as quote
except ImportError:  # pragma: no cover - CPython always has _json
    from json import dumps as quote

FORMAT_VERSION = 1  # otherData.tracer_version: the JSON contract (the raw file has its magic)
KIND_HEADER = b"H"  # UTF-8 JSON object: otherData
KIND_NAMES = b"N"  # UTF-8 JSON array of [id, name, cat]
KIND_META = b"M"  # UTF-8 JSON array of Trace Events written whole (M, flows, instants, ...)
KIND_VALUES = b"V"  # int64 tid, bytes used, then calls with values (call_values.py)
KIND_OPEN_ARGS = b"O"  # int64 tid, slots, then a slot per depth: the arguments of the open call
OPEN_ARGS_SLOT = 512  # u32 text bytes, u32 name id, then the UTF-8 text of a JSON object
KIND_END = b"T"  # UTF-8 JSON object: tracerEnd
KIND_EVENTS = b"E"  # float64: tid, count, then (start_ns, dur_ns, name_id) slots
KIND_STACK = b"S"  # int64: tid, depth, then (start_ns, name_id) slots
KIND_DROPPED = b"D"  # float64: calls the event cap's ring recycled, their latest end (cap_ring.py)
EVENTS_HEAD = 2  # tid, count
STACK_HEAD = 2  # tid, depth
EVENT_SLOT = 3
STACK_SLOT = 2


def to_json(value):
    """Compact JSON text of metadata (dicts, lists, strings, numbers, booleans, None)."""
    if isinstance(value, str):
        return quote(value)
    if value is None or value is True or value is False:
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if value == value and abs(value) != float("inf") else "null"
    if isinstance(value, dict):
        return "{%s}" % ",".join("%s:%s" % (quote(str(k)), to_json(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[%s]" % ",".join(to_json(item) for item in value)
    return quote(str(value))


# [forks seen by this process's line, 1 while a fork is in progress]: a writer made before the
# last fork is its parent's (a fork child before its own writer), told without a getpid() system
# call per record. While a fork is in progress (from these hooks' `before` to their `after`), the
# fork hooks registered before them (threading's) run Python code in the child, which getpid()
# tells from the parent. Registered when this module is imported, before the shim's own hooks.
_forks = [0, 0]


def _forking():
    _forks[1] = 1


def _forked():
    _forks[0] += 1
    _forks[1] = 0


def _not_forked():
    _forks[1] = 0


register_at_fork(before=_forking, after_in_parent=_not_forked, after_in_child=_forked)


class _TracerGone(OSError):
    """The tracer CLI ended (killed): nothing will read the trace, so recording stops."""


def lost_reason(error):
    """Why writing the trace stopped, in plain words, from the OSError that stopped it."""
    if isinstance(error, _TracerGone):
        return "the tracer that collects this trace ended (killed?), so recording stopped"
    code = getattr(error, "errno", None)
    if code == errno.ENOSPC:
        return "no space left on the device of the trace data directory (ENOSPC)"
    if code == errno.EDQUOT:
        return "disk quota exceeded on the device of the trace data directory (EDQUOT)"
    name = errno.errorcode.get(code, str(code))
    return "cannot write the trace file: %s (%s)" % (getattr(error, "strerror", None) or error, name)


class TraceWriter:
    """Owns one process's raw file. Blocks and names can be asked for from any thread (the GIL
    and the writer's lock serialize them); a fork child's process never writes its parent's."""

    def __init__(self, config, pid, names):
        self.pid = pid
        self._forks = _forks[0]  # see _forks
        self._file, self.file_name = rawfile.create(config.output_dir, pid)
        self.lock = RLock()
        self.closed = False
        # Why writing stopped early (a sentence for tracerEnd), and the clock then; on_lost is
        # called once with the reason (the session stops recording: the program runs on).
        self.lost = None
        self.lost_ns = 0
        self.on_lost = None
        self.names = names  # names go into the file once the header is there (write_header)
        # What the M records say so far: None -> process name, tid -> thread name.
        self._written_meta = {}
        # An append that comes while this thread appends (a gc callback, a signal handler): it
        # waits in _pending until the one in progress is done.
        self._busy = False
        self._pending = []
        # The tracer CLI that reads this file: once it is gone (SIGKILLed), nobody will; checked
        # when a block is asked for, at most every CHECK_INTERVAL_NS.
        self._tracer_pid = config.tracer_pid
        self._tracer_check_ns = 0
        # Events and values blocks are recycled: with --flight S those retired more than S
        # seconds ago (ring.py; the retired ones hold at most --tracer_entries calls' worth of
        # events-block bytes before the oldest goes anyway), else past the event cap's head
        # (cap_ring.py).
        if config.flight_s > 0:
            self._ring = FlightRing(config.flight_s, 8 * EVENT_SLOT * config.tracer_entries)
        else:
            self._ring = CapRing(config.tracer_entries, lambda: self._block(KIND_DROPPED, 16))

    def code_id(self, code):
        """The name id of a code object (-1: not recorded); its name is in the file first."""
        return self.names.code_id(code)

    def c_function_id(self, func):
        """The name id of a C callable; its name is in the file first."""
        return self.names.c_function_id(func)

    def write_header(self, other_data):
        """Writes the magic line and the header record (otherData), then every name the table
        already knows (a fork child's, a table taken over): its cores hold those ids."""
        self._append(KIND_HEADER, to_json(other_data))
        # New names from now on; then the ones known (a name given in between is written twice,
        # with the same id: harmless).
        self.names.on_new = self._name_given
        # list(): one C-level copy, which no thread switch can cut into.
        known = [[name_id, name, cat] for name_id, (name, cat) in list(self.names.names.items())]
        if known:
            self._append(KIND_NAMES, to_json(known))

    def _name_given(self, name_id, name, cat):
        self._append(KIND_NAMES, "[[%d,%s,%s]]" % (name_id, quote(name), quote(cat)))

    def events_block(self, tid, slots):
        """A new events block for thread `tid`, of `slots` calls or, when the rest of the file's
        segment (or a recycled block) holds at least a quarter of that, of as many as it holds
        (its size says how many): a memoryview (bytes) of its payload, the tid stored; None when
        the file can take no more (recording stops)."""
        least = 8 * (EVENTS_HEAD + EVENT_SLOT * max(1, slots // 4))
        recycled = self._recycled(KIND_EVENTS, tid, least, "d")
        if recycled is not None:
            return recycled
        fits = (self._file.room() // 8 - EVENTS_HEAD) // EVENT_SLOT
        if slots // 4 <= fits < slots:
            slots = fits  # rather than pad the rest of the segment and map a new one
        block = self._block(KIND_EVENTS, 8 * (EVENTS_HEAD + EVENT_SLOT * slots), tid)
        if block is not None:
            block[:8].cast("d")[0] = tid
        return block

    def _recycled(self, kind, tid, least, count_format):
        """A retired block of `kind` recycled for `tid` (ring.py, cap_ring.py), or None."""
        if self._parents():
            return None
        with self.lock:
            if not self._writable():
                return None
            record = self._ring.take(kind, tid, least)
            if record is None:
                return None
            self._ring.hold(kind, tid, record)
            return reuse(record, tid, count_format)

    def stack_block(self, tid, slots):
        """A new open-calls record of `slots` calls for thread `tid` (a memoryview of its payload,
        the tid stored); it replaces the thread's earlier ones. None when the file is full."""
        block = self._block(KIND_STACK, 8 * (STACK_HEAD + STACK_SLOT * slots))
        if block is not None:
            block[:8].cast("q")[0] = tid
        return block

    def _parents(self):
        """True in a fork child whose file this still is: its parent's (see _forks)."""
        return self._forks != _forks[0] or (_forks[1] and _os_getpid() != self.pid)

    def writable(self):
        """False once nothing more goes into the file: closed, stopped (a full disk), or a fork
        child's file that is still its parent's."""
        return not self.closed and self.lost is None and not self._parents()

    def values_block(self, tid, size):
        """A new values block of `size` bytes of text for thread `tid` (call_values.py): a
        memoryview (bytes) of its payload, the tid stored; None when the file takes no more."""
        recycled = self._recycled(KIND_VALUES, tid, 16 + size, "q")
        if recycled is not None:
            return recycled
        block = self._block(KIND_VALUES, 16 + size, tid)
        if block is not None:
            block[:8].cast("q")[0] = tid
        return block

    def open_args_block(self, tid, slots):
        """A new open-call arguments record of `slots` slots for thread `tid` (it replaces the
        thread's earlier ones): a memoryview (bytes) of its payload, tid and slots stored."""
        block = self._block(KIND_OPEN_ARGS, 16 + slots * OPEN_ARGS_SLOT)
        if block is not None:
            head = block[:16].cast("q")
            head[0] = tid
            head[1] = slots
        return block

    def _writable(self):
        """Under the lock: True when a block may still be handed out (the file is open, writing
        has not stopped, the CLI that reads it is alive)."""
        if self.closed or self.lost is not None:
            return False
        if self._tracer_gone():
            self._stop_writing(_TracerGone())
            return False
        return True

    def _block(self, kind, size, tid=None):
        """A new record of `size` zero bytes of payload: its payload (a memoryview), or None. An
        events or values block (`tid` given) becomes the thread's current one in the ring."""
        if self._parents():
            return None  # a fork child before its own writer (the cores record privately)
        with self.lock:
            if not self._writable():
                return None
            busy, self._busy = self._busy, True
            try:
                record = self._file.block(kind, size)
            except OSError as error:
                self._stop_writing(error)
                return None
            finally:
                self._busy = busy
            if tid is not None:
                self._ring.hold(kind, tid, record)
            if self._pending and not busy:
                self._append(*self._pending.pop(0))  # appends the others too
            return record[rawfile.HEAD_BYTES:]

    def write_process_name(self, name):
        """Names the process in the file (when the name changed)."""
        self._write_meta(None, name, "process_name")

    def write_thread_name(self, tid, name):
        """Names a thread in the file (when the name changed)."""
        self._write_meta(tid, name, "thread_name")

    def write_thread_sort_index(self, tid, index):
        """Places a thread's row among its process's (`thread_sort_index`)."""
        self._append(KIND_META, to_json([{"ph": "M", "pid": self.pid, "tid": tid,
                                          "name": "thread_sort_index",
                                          "args": {"sort_index": index}}]))

    def _write_meta(self, key, name, kind):
        if not name or self._parents():
            return
        with self.lock:
            if self._written_meta.get(key) == name:
                return
            self._written_meta[key] = name
            tid = self.pid if key is None else key
            self._append(KIND_META, to_json([{"ph": "M", "pid": self.pid, "tid": tid,
                                              "name": kind, "args": {"name": name}}]))

    def add_event(self, event):
        """Writes a Trace Event (a dict) whole: a flow's end, an instant, a counter, a slice."""
        return self._append(KIND_META, to_json([event]))

    def _append(self, kind, text):
        """Appends one record; True when it is in the file."""
        if self._parents():
            # A fork child before its own writer: the file is the parent's (a name given here is
            # in the new file's header, write_header), and its lock may be held by a thread that
            # does not exist in this process.
            return False
        lock = self.lock
        lock.acquire()
        try:
            if self.closed or self.lost is not None:
                return False
            if self._busy:  # called back from inside the append in progress: after it
                self._pending.append((kind, text))
                return True
            self._busy = True
            try:
                self._file.append(kind, text.encode())
                while self._pending:
                    kind, text = self._pending.pop(0)
                    self._file.append(kind, text.encode())
            except OSError as error:
                self._stop_writing(error)
                return False
            finally:
                self._busy = False
            return True
        finally:
            lock.release()

    def close(self, end_metadata):
        """Writes tracerEnd, cuts the file after it and closes it."""
        if self._parents():
            return  # a fork child before its own writer: the file is the parent's
        with self.lock:
            if self.closed:
                return
            if self._pending and not self._busy:
                self._append(*self._pending.pop(0))
            end = dict(end_metadata)
            if self.lost is not None:
                end.update(lost=self.lost, lost_mono_ns=self.lost_ns)
            try:
                # Even after a failed append: a segment's end is kept for this record.
                self._file.append(KIND_END, to_json(end).encode(), final=True)
            except OSError as error:
                if debug.ENABLED:
                    debug.log("cannot write the end record: %s" % error)
            self.closed = True
            try:
                self._file.finish()
            except OSError as error:
                if debug.ENABLED:
                    debug.log("cannot cut the trace file: %s" % error)

    def abandon(self):
        """In a forked child: forgets the parent's file without writing to it."""
        self.closed = True
        self._file.close()

    def _tracer_gone(self):
        """True once the tracer CLI has ended: this process is an orphan nobody collects."""
        if self._tracer_pid <= 0:
            return False
        now = perf_counter_ns()
        if now < self._tracer_check_ns:
            return False
        self._tracer_check_ns = now + CHECK_INTERVAL_NS
        try:
            _os_kill(self._tracer_pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # EPERM: it exists (another user's process may hold a reused pid)
            pass
        return False

    def _stop_writing(self, error):
        if self.lost is None:
            self.lost = lost_reason(error)
            self.lost_ns = perf_counter_ns()
        callback, self.on_lost = self.on_lost, None
        if callback is not None:
            callback(self.lost)

