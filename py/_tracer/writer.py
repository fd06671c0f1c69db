"""Turns recorded per-thread buffers into the per-process raw trace file (docs/internals.md, 2).

A thread buffer is a flat list written by the recording core: an entry is two items, the code
object (Python) or the name string (C function) followed by the perf_counter_ns() clock; an exit
is one item, the clock. Ints are clocks, anything else starts an entry, so no tuple is built on the
hot path. This module walks those lists, pairs entries with exits on a per-thread stack that lives
across chunks, applies the filters that need the finished call (depth, duration, cap) and writes
each finished call as three numbers (start ns, duration ns, name id) in binary records; the CLI
turns the file into JSON. No text is formatted per event: that was 2/3 of the tracing cost.
Each chunk is one os.writev of its records (no user-space buffer to duplicate after a fork, and
no copy of the events joined to the names before them), names first, so a killed process never
leaves events whose names are missing.
"""

import errno
import os
import sys
from _thread import RLock
from array import array
from time import perf_counter_ns

from .constants import FLUSH_INTERVAL_NS

try:  # the C encoder alone: importing json costs ~20 ms of start-up in every process
    from _json import encode_basestring_ascii as _quote
except ImportError:  # pragma: no cover - CPython always has _json
    from json import dumps as _quote

FORMAT_VERSION = 1
RAW_MAGIC = b"TRACER-RAW 1\n"
KIND_HEADER = b"H"  # UTF-8 JSON object: otherData
KIND_NAMES = b"N"  # UTF-8 JSON array of [id, name, cat]
KIND_EVENTS = b"E"  # float64 LE: tid, then (start_ns, dur_ns, name_id) per event
KIND_META = b"M"  # UTF-8 JSON array of the M events and flow events
KIND_END = b"T"  # UTF-8 JSON object: tracerEnd

_os_write = os.write
_os_writev = os.writev
_os_close = os.close
_os_open = os.open
_os_fstat = os.fstat
_os_getpid = os.getpid
_os_ftruncate = os.ftruncate
_os_kill = os.kill
_BIG_ENDIAN = sys.byteorder == "big"
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
# The trace file is kept on a descriptor this high (when the limit allows), so the program's own
# files get the numbers they get untraced.
_HIGH_FD = 960


def to_json(value):
    """Compact JSON text of metadata (dicts, lists, strings, numbers, booleans, None)."""
    if isinstance(value, str):
        return _quote(value)
    if value is None or value is True or value is False:
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if value == value and abs(value) != float("inf") else "null"
    if isinstance(value, dict):
        return "{%s}" % ",".join("%s:%s" % (_quote(str(k)), to_json(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[%s]" % ",".join(to_json(item) for item in value)
    return _quote(str(value))


def record_head(kind, size):
    """What goes before a record's payload of `size` bytes: kind byte, 4-byte little-endian size."""
    return kind + size.to_bytes(4, "little")


def record(kind, payload):
    """One raw record: kind byte, 4-byte little-endian payload length, payload."""
    return record_head(kind, len(payload)) + payload


def events_payload(numbers):
    """The events payload of [tid, start, dur, id, start, dur, id, ...] (ints, exact as doubles)."""
    data = array("d", numbers)
    if _BIG_ENDIAN:
        data.byteswap()
    return data


class ThreadBuffer:
    """One thread's recording buffer and the export state that outlives each chunk."""

    __slots__ = ("buf", "ident", "tid", "thread", "name", "stack", "inherited", "fork_ns")

    def __init__(self, ident, tid, thread, name):
        self.buf = []
        self.ident = ident
        self.tid = tid
        self.thread = thread  # the threading.Thread, dropped when the thread ends
        self.name = name
        # (name id, start clock) of calls open across chunks; the id is None for calls not
        # recorded (filtered, too deep) and 0 past the cap (counted as dropped).
        self.stack = []
        # In a fork child: the first `inherited` items of buf are the parent's, not yet replayed.
        self.inherited = 0
        self.fork_ns = 0

    def current_name(self):
        """The thread's name now (threads can be renamed while they run)."""
        thread = self.thread
        if thread is not None:
            name = getattr(thread, "_name", None)  # not the property: no Python code may run here
            if isinstance(name, str):
                self.name = name
        return self.name or "Thread %d" % self.tid


def open_result_file(output_dir, pid):
    """Creates result_<pid>.raw, or result_<pid>_<k>.raw when taken; returns (fd, path, name)."""
    flags = _OPEN_FLAGS | os.O_CREAT | os.O_EXCL
    k = 0
    while True:
        name = "result_%d.raw" % pid if k == 0 else "result_%d_%d.raw" % (pid, k)
        path = os.path.join(output_dir, name)
        try:
            return _out_of_the_way(_os_open(path, flags, 0o644)), path, name
        except FileExistsError:
            k += 1


def _out_of_the_way(fd):
    """Moves `fd` to a high number (closing the low one), where the program does not look."""
    try:
        import fcntl

        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _HIGH_FD)
    except (ImportError, OSError, AttributeError):
        return fd  # no room up there (a low RLIMIT_NOFILE): keep it where it is
    _os_close(fd)
    return high


def _file_identity(fd):
    info = _os_fstat(fd)
    return info.st_dev, info.st_ino


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


def python_code_name(code):
    """`qualname (path:line)` for a code object."""
    return "%s (%s:%d)" % (
        getattr(code, "co_qualname", code.co_name),
        code.co_filename,
        code.co_firstlineno,
    )


class TraceWriter:
    """Owns one process's raw file: header, chunks of names and events, and the closing records."""

    def __init__(self, config, pid, code_filter):
        self.pid = pid
        self.fd, self._path, self.file_name = open_result_file(config.output_dir, pid)
        self._identity = _file_identity(self.fd)
        self._size = 0  # bytes of whole records in the file
        self.lock = RLock()
        self.closed = False
        # Why writing stopped early (a sentence for tracerEnd), and the clock then; on_lost is
        # called once with the reason (the session stops recording: the program runs on).
        self.lost = None
        self.lost_ns = 0
        self.on_lost = None
        # The process_name M event: set by the session, written with the next chunk when changed.
        self.process_name = ""
        self.events = 0
        self.dropped = 0
        self.unfinished = 0
        self.deepest = 0  # the deepest call stack seen (a native core sets it at the end)
        self._admitted = 0
        self._cap = config.tracer_entries
        depth = config.max_stack_depth
        self._max_depth = depth if depth > 0 else 1 << 30
        self._min_ns = int(config.min_duration_us * 1000)
        self._code_filter = code_filter
        self._code_id = {}  # id(code) -> (code, name id or None); see id_for
        # code -> (code, name id or None): the Python cores' lookup per call (see _walk)
        self._walk_id = {}
        self._c_id = {}  # C function name -> name id
        self._next_id = 1
        self._new_names = []  # [id, name, cat] not written yet
        self._names_by_id = [None]  # id -> (name, cat), so a fork child can name what it inherits
        # What the M records written so far say: None -> process name, tid -> thread name. Names
        # go out with the chunks, so a killed process keeps them.
        self._written_meta = {}
        # Trace Event flow events (`s`, `f`) waiting for the next M record (session.add_flow).
        self.flows = []
        self._c_names = CFunctionNames()  # for c_function_id
        # The tracer CLI that reads this file: once it is gone (SIGKILLed), nobody will; checked
        # before a chunk is written, at most every FLUSH_INTERVAL_NS.
        self._tracer_pid = config.tracer_pid
        self._tracer_check_ns = 0

    def id_for(self, code):
        """The name id of a code object, or None when filters exclude it.

        Keyed by id(): hashing a code object hashes its constants and every code object nested
        in them (25 us for a large module's), and equal code objects of different files compare
        equal. The entry holds the code object, which keeps its id unique for the process's life.
        """
        key = id(code)
        entry = self._code_id.get(key)
        if entry is not None and entry[0] is code:
            return entry[1]
        name_id = None
        if self._code_filter(code):
            name_id = self._new_name(python_code_name(code), "py")
        self._code_id[key] = (code, name_id)
        return name_id

    def _walk_id_for(self, code):
        """id_for(), remembered by content for _walk: a small function's code hashes faster than
        id() and an int hash on 3.8 (its caller checks identity: equal code can be another's)."""
        name_id = self.id_for(code)
        self._walk_id.setdefault(code, (code, name_id))
        return name_id

    def c_function_id(self, func):
        """The name id of a C callable (the native core asks once per callable and caches it)."""
        name = self._c_names.name(func)
        name_id = self._c_id.get(name)
        return name_id if name_id is not None else self._c_function_id(name)

    def adopt_names(self, parent):
        """Takes over every name id `parent` gave, to be written again at the start of this file.

        A native core keeps its cached name ids across a fork (and a failed exec): the new file
        must know them. Call it before this writer names anything.
        """
        self._code_id = dict(parent._code_id)
        self._walk_id = dict(parent._walk_id)
        self._c_id = dict(parent._c_id)
        self._c_names = parent._c_names
        self._next_id = parent._next_id
        self._names_by_id = list(parent._names_by_id)
        names = {}
        # Copies: on 3.8-3.11 the core asks id_for() about the shim's own code meanwhile.
        for code, name_id in list(self._code_id.values()):
            if name_id is not None:
                names[name_id] = [name_id, python_code_name(code), "py"]
        for name, name_id in list(self._c_id.items()):
            names[name_id] = [name_id, name, "c"]
        self._new_names = [names[name_id] for name_id in sorted(names)]

    def write_events(self, thread, payload, dropped=0):
        """Writes one chunk a native core built for `thread` (its ThreadBuffer), names first.

        `payload` is a whole `E` payload (float64 little-endian: tid, then start_ns, dur_ns,
        name_id per finished call); `dropped` counts the calls dropped past the cap since the
        core's last chunk.
        """
        if _os_getpid() != self.pid:
            return  # a fork child before its fork hook ran: see drain()
        with self.lock:
            if self.closed or self.lost is not None:
                return
            self.dropped += dropped
            if len(payload) > 8:
                self.events += (len(payload) - 8) // 24
                self._write_chunk(thread, payload)

    def write_process_name(self, name):
        """Names the process in the file at once, not with the next chunk: a process that sets
        its title and is then SIGKILLed (Ray's workers at shutdown) keeps its name."""
        self.process_name = name
        if _os_getpid() != self.pid:
            return  # a fork child before its fork hook ran: see drain()
        with self.lock:
            if not self.closed and self.lost is None:
                data = self._meta_record(())
                if data:
                    self._write(data)

    def _c_function_id(self, name):
        name_id = self._c_id[name] = self._new_name(name, "c")
        return name_id

    def _new_name(self, name, cat):
        name_id = self._next_id
        self._next_id += 1
        self._new_names.append([name_id, name, cat])
        self._names_by_id.append((name, cat))
        return name_id

    def _meta_record(self, threads):
        """An M record of the names in `threads` (and the process's) not written as they are now."""
        written = self._written_meta
        events = []
        if self.flows:
            # Flow events (launch arrows) ride along with the names: the list is swapped, not
            # cleared, so an append from another thread lands in the next record.
            events, self.flows = self.flows, []
        name = self.process_name
        if name and written.get(None) != name:
            written[None] = name
            events.append({"ph": "M", "pid": self.pid, "tid": self.pid, "name": "process_name",
                           "args": {"name": name}})
        for thread in threads:
            name = thread.current_name()
            if written.get(thread.tid) != name:
                written[thread.tid] = name
                events.append({"ph": "M", "pid": self.pid, "tid": thread.tid,
                               "name": "thread_name", "args": {"name": name}})
        return record(KIND_META, to_json(events).encode()) if events else b""

    def _names_record(self):
        if not self._new_names:
            return b""
        data = record(KIND_NAMES, to_json(self._new_names).encode())
        self._new_names = []
        return data

    def write_header(self, other_data):
        """Writes the magic line and the header record (otherData)."""
        self._write(RAW_MAGIC + record(KIND_HEADER, to_json(other_data).encode()))

    def drain(self, thread):
        """Writes everything recorded so far in a thread's buffer as one chunk."""
        if _os_getpid() != self.pid:
            # A fork child before the shim's fork hook ran (another fork hook's code was
            # recorded and flushed): the parent's file is not this process's to write, and its
            # lock may be held by a thread that does not exist here. The buffer stays whole for
            # the child's own writer.
            return
        with self.lock:
            if self.closed:
                return
            buf = thread.buf
            count = len(buf)
            # Another thread may be between appending its code object and its clock.
            if count and buf[count - 1].__class__ is not int:
                count -= 1
            items = buf[:count]
            del buf[:count]
            if self.lost is not None:
                return  # nothing can be written any more: keep memory bounded
            inherited = thread.inherited
            if inherited:
                self.replay(thread, items[:inherited])
                del items[:inherited]
            numbers = [thread.tid]
            self._walk(thread, items, numbers)
            if len(numbers) > 1:
                self._write_chunk(thread, events_payload(numbers))

    def _write_chunk(self, thread, payload):
        """One chunk: the names not written yet, the thread's changed metadata, then the events
        record of `payload` (any buffer), which is written beside them, not joined to them."""
        payload = memoryview(payload).cast("B")
        head = self._names_record() + self._meta_record((thread,))
        self._write(head + record_head(KIND_EVENTS, len(payload)), payload)

    def inherit(self, thread, fork_ns, parent):
        """In a fork child: takes over the surviving thread's open calls and unwritten buffer.

        The open calls keep their names (named again in this file) and start at the fork. The
        buffer is replayed at the thread's first drain, which runs unrecorded (inside a recording
        callback, or after recording stopped), so the fork returns at once and the shim's own work
        in the child is balanced: nothing it does is left open or closes a call of the program's.
        """
        stack = thread.stack
        adopted = {}
        for i, (name_id, start) in enumerate(stack):
            if name_id:  # opened before the parent's last chunk: an id of the parent's file
                new_id = adopted.get(name_id)
                if new_id is None:
                    name, cat = parent._names_by_id[name_id]
                    new_id = adopted[name_id] = self._new_name(name, cat)
                stack[i] = (new_id, start)
        thread.inherited = len(thread.buf)
        thread.fork_ns = fork_ns

    def replay(self, thread, items):
        """Rebuilds the open-call stack from the parent's part of the buffer, writing nothing.

        The finished calls in it are the parent's: none is counted here, and the cap counts only
        the open calls this file will close.
        """
        self._walk(thread, items, None)
        stack = thread.stack
        fork_ns = thread.fork_ns
        stack[:] = [(name_id, fork_ns) for name_id, _ in stack]
        thread.inherited = 0
        self.events = 0
        self.dropped = 0
        self._admitted = sum(1 for name_id, _ in stack if name_id)

    def _walk(self, thread, items, out):
        emit = out.append if out is not None else None
        stack = thread.stack
        push = stack.append
        pop = stack.pop
        code_id = self._walk_id.get
        c_id = self._c_id.get
        min_ns = self._min_ns
        max_depth = self._max_depth
        cap = self._cap
        admitted = self._admitted
        dropped = self.dropped
        deepest = self.deepest
        written = 0
        it = iter(items)
        for item in it:
            if item.__class__ is int:  # an exit
                if stack:
                    name_id, start = pop()
                    if name_id:
                        duration = item - start
                        if duration >= min_ns:
                            if emit is not None:
                                emit(start)
                                emit(duration)
                                emit(name_id)
                            written += 1
                continue
            start = next(it)
            if item.__class__ is str:  # a C function, named on the hot path
                name_id = c_id(item)
                if name_id is None:
                    name_id = self._c_function_id(item)
                if stack and not stack[-1][0]:
                    # Calls made by code that is not recorded are not recorded either.
                    if stack[-1][0] is None:
                        push((None, start))
                        continue
            else:
                entry = code_id(item)
                if entry is not None and entry[0] is item:
                    name_id = entry[1]
                else:
                    name_id = self._walk_id_for(item)
            if name_id is not None:
                if len(stack) >= max_depth:
                    name_id = None
                elif admitted < cap:
                    admitted += 1
                else:
                    dropped += 1
                    name_id = 0  # past the cap: counted, and its callees are counted too
            push((name_id, start))
            if name_id and len(stack) > deepest:  # recorded: not past the depth limit or the cap
                deepest = len(stack)
        self.deepest = deepest
        self._admitted = admitted
        self.dropped = dropped
        self.events += written

    def close(self, end_ns, threads, end_metadata):
        """Closes open calls as unfinished, writes the names, tracerEnd, and closes the file."""
        if _os_getpid() != self.pid:
            return  # a fork child before its fork hook ran: see drain()
        with self.lock:
            if self.closed:
                return
            chunks = [self._names_record()]
            for thread in threads:
                numbers = [thread.tid]
                # Open calls end at end_ns, each 1 ns before its caller (outermost first): a
                # reader that adds ts and dur in floating point would otherwise see a callee end
                # a hair after its caller (tracer writes microseconds with three decimals).
                end = end_ns + 1
                for name_id, start in thread.stack if self.lost is None else ():
                    if name_id:
                        end = max(end - 1, start)
                        # A negative id marks a call still open at the end.
                        numbers += (start, end - start, -name_id)
                        self.unfinished += 1
                        self.events += 1
                del thread.stack[:]
                if len(numbers) > 1:
                    chunks.append(record(KIND_EVENTS, events_payload(numbers).tobytes()))
            chunks.append(self._meta_record(threads))
            end = dict(end_metadata)
            end.update(events=self.events, dropped_events=self.dropped, unfinished=self.unfinished,
                       deepest_stack=self.deepest, end_mono_ns=end_ns)
            if self.lost is not None:
                end.update(lost=self.lost, lost_mono_ns=self.lost_ns)
            chunks.append(record(KIND_END, to_json(end).encode()))
            # Even after a failed write: the space its partial chunk took is free again.
            self._write(b"".join(chunks), final=True)
            self.closed = True
            self._close_own_fd()

    def abandon(self):
        """In a forked child: forgets the parent's file without writing to it."""
        self.closed = True
        self._close_own_fd()

    def _tracer_gone(self):
        """True once the tracer CLI has ended: this process is an orphan nobody collects."""
        if self._tracer_pid <= 0:
            return False
        now = perf_counter_ns()
        if now < self._tracer_check_ns:
            return False
        self._tracer_check_ns = now + FLUSH_INTERVAL_NS
        try:
            _os_kill(self._tracer_pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # EPERM: it exists (another user's process may hold a reused pid)
            pass
        return False

    def _write(self, data, payload=None, final=False):
        """Appends whole records: `data`, then `payload` (a byte view) when given, the payload
        of the record `data` ends with the head of, in one writev. A failed write is cut off the
        file and stops writing for good."""
        if self.closed or (self.lost is not None and not final):
            return
        if not final and self._tracer_gone():
            self._stop_writing(_TracerGone())
            return
        try:
            fd = self._own_fd()
            if payload is None:
                size, written = len(data), _os_write(fd, data)
            else:
                size, written = len(data) + len(payload), _os_writev(fd, (data, payload))
            if written < size:  # a short write (a full disk, a signal): the rest, once joined
                view = memoryview(data if payload is None else data + payload)[written:]
                while view:
                    view = view[_os_write(fd, view):]
            self._size += size
        except OSError as error:
            self._stop_writing(error)

    def _own_fd(self):
        """The trace file's descriptor, opened again if the program closed it or reused it."""
        try:
            if _file_identity(self.fd) == self._identity:
                return self.fd
        except OSError:
            pass
        # The number is the program's now (or free): never write, truncate or close it.
        fd = _os_open(self._path, _OPEN_FLAGS)
        try:
            if _file_identity(fd) != self._identity:
                raise OSError(errno.ENOENT, "the trace file was replaced", self._path)
        except OSError:
            _os_close(fd)
            raise
        self.fd = _out_of_the_way(fd)
        return self.fd

    def _stop_writing(self, error):
        if self.lost is None:
            self.lost = lost_reason(error)
            self.lost_ns = perf_counter_ns()
        try:
            _os_ftruncate(self._own_fd(), self._size)  # a cut-off chunk would read as damage
        except OSError:
            pass
        callback, self.on_lost = self.on_lost, None
        if callback is not None:
            callback(self.lost)

    def _close_own_fd(self):
        try:
            if _file_identity(self.fd) == self._identity:
                _os_close(self.fd)
        except OSError:
            pass


_BuiltinType = type(len)  # builtin_function_or_method: len, time.sleep, [].append bound
_MethodDescriptorType = type(list.append)
# What a class defines a C method as: a method descriptor, or a classmethod's (dict.fromkeys).
_C_METHOD_TYPES = (_MethodDescriptorType, type(dict.__dict__["fromkeys"]))
_ModuleType = type(os)


class CFunctionNames:
    """Names C functions as `module.name` or `Type.method` without keeping user objects alive."""

    def __init__(self):
        self._by_callable = {}  # module functions and method descriptors
        self._by_method = {}  # (class, name) -> name, for builtins bound to a class or instance

    def name(self, func):
        """The display name of a C function; hashes nothing that could run user code."""
        cls = func.__class__
        if cls is _BuiltinType or cls is _MethodDescriptorType:
            name = self._by_callable.get(func)  # pointer hashes: no user code runs
            if name is not None:
                return name
        return self._slow_name(func, cls)

    def _slow_name(self, func, cls):
        """Names a builtin function or method (`cls` is a subclass of its type for one bound
        through a C class) or a method descriptor: the C functions every core records."""
        if cls is _MethodDescriptorType:
            name = self._by_callable[func] = _type_name(func.__objclass__) + "." + func.__name__
            return name
        owner = func.__self__
        if owner is None or owner.__class__ is _ModuleType:
            name = "%s.%s" % (func.__module__ or "builtins", func.__qualname__)
            self._by_callable[func] = name
            return name
        # Bound to a class (a classmethod) or to an instance, whose class is the key: keying by
        # func would keep the instance alive. Named by the class that defines it, as 3.12+ name
        # `[].append(1)`, a method descriptor of list's, whatever list subclass it is called on.
        owner_class = owner if isinstance(owner, type) else owner.__class__
        key = (owner_class, func.__name__)
        name = self._by_method.get(key)
        if name is None:
            defining = _defining_class(owner_class, func.__name__)
            name = self._by_method[key] = _type_name(defining) + "." + func.__name__
        return name


_type_mro = type.__dict__["__mro__"].__get__  # as the type keeps them: no metaclass code runs
_type_dict = type.__dict__["__dict__"].__get__


def _defining_class(cls, name):
    """The first class in cls's MRO that defines a C method `name` (cls when none does)."""
    for klass in _type_mro(cls):
        if _type_dict(klass).get(name).__class__ in _C_METHOD_TYPES:
            return klass
    return cls


def _type_name(cls):
    module = cls.__module__
    qualname = cls.__qualname__
    if module == "builtins" or not isinstance(module, str):
        return qualname
    return module + "." + qualname
