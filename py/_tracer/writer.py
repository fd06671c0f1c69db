"""Turns recorded per-thread buffers into the per-process trace file (docs/internals.md, section 2).

A thread buffer is a flat list written by the recording core: an entry is two items, the code
object (Python) or the name string (C function) followed by the perf_counter_ns() clock; an exit
is one item, the clock. Ints are clocks, anything else starts an entry, so no tuple is built on the
hot path. This module walks those lists, pairs entries with exits on a per-thread stack that lives
across chunks, applies the filters that need the finished call (depth, duration, cap) and writes
`%`-formatted lines in chunks with os.write (no user-space buffer to duplicate after a fork).
"""

import os
from _thread import RLock

try:  # the C encoder alone: importing json costs ~20 ms of start-up in every process
    from _json import encode_basestring_ascii as _quote
except ImportError:  # pragma: no cover - CPython always has _json
    from json import dumps as _quote

FORMAT_VERSION = 1

_os_write = os.write
_os_close = os.close
_os_open = os.open
_UNFINISHED = ',"args":{"unfinished":true}},\n'


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


class ThreadBuffer:
    """One thread's recording buffer and the export state that outlives each chunk."""

    __slots__ = ("buf", "ident", "tid", "thread", "name", "stack", "prefix")

    def __init__(self, ident, tid, thread, name):
        self.buf = []
        self.ident = ident
        self.tid = tid
        self.thread = thread  # the threading.Thread, dropped when the thread ends
        self.name = name
        self.stack = []  # (line suffix or None/"", start clock) of calls open across chunks
        self.prefix = ""

    def current_name(self):
        """The thread's name now (threads can be renamed while they run)."""
        thread = self.thread
        if thread is not None:
            name = getattr(thread, "_name", None)  # not the property: no Python code may run here
            if isinstance(name, str):
                self.name = name
        return self.name or "Thread %d" % self.tid


def open_result_file(output_dir, pid):
    """Creates result_<pid>.json, or result_<pid>_<k>.json when taken; returns (fd, base name)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    k = 0
    while True:
        name = "result_%d.json" % pid if k == 0 else "result_%d_%d.json" % (pid, k)
        try:
            return _os_open(os.path.join(output_dir, name), flags, 0o644), name
        except FileExistsError:
            k += 1


def python_code_name(code):
    """`qualname (path:line)` for a code object."""
    return "%s (%s:%d)" % (
        getattr(code, "co_qualname", code.co_name),
        code.co_filename,
        code.co_firstlineno,
    )


class TraceWriter:
    """Owns one process's output file: header, chunks of events, and the closing metadata."""

    def __init__(self, config, pid, code_filter):
        self.pid = pid
        self.fd, self.file_name = open_result_file(config.output_dir, pid)
        self.lock = RLock()
        self.closed = False
        self.events = 0
        self.dropped = 0
        self.unfinished = 0
        self._admitted = 0
        self._cap = config.tracer_entries
        depth = config.max_stack_depth
        self._max_depth = depth if depth > 0 else 1 << 30
        self._min_ns = int(config.min_duration_us * 1000)
        self._code_filter = code_filter
        self._code_suffix = {}  # code -> (code, suffix or None); see suffix_for
        self._c_suffix = {}  # C function name -> suffix
        self._thread_names = {}  # tid -> name, for the thread_name M events

    def suffix_for(self, code):
        """The cached line ending for a code object, or None when filters exclude it."""
        entry = self._code_suffix.get(code)
        # Code objects compare by content, not by file: check identity, fall back to id().
        if entry is not None and entry[0] is code:
            return entry[1]
        entry = self._code_suffix.get(id(code))
        if entry is not None and entry[0] is code:
            return entry[1]
        suffix = None
        if self._code_filter(code):
            suffix = '"name":%s,"cat":"py"},\n' % _quote(python_code_name(code))
        # Holding the code object keeps its id unique for the life of the process.
        self._code_suffix.setdefault(code, (code, suffix))
        self._code_suffix[id(code)] = (code, suffix)
        return suffix

    def write_header(self, other_data):
        """Writes line 1: the otherData object and the opening of traceEvents."""
        self._write('{"otherData":%s,"traceEvents":[\n' % to_json(other_data))

    def drain(self, thread):
        """Formats and writes everything recorded so far in a thread's buffer."""
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
            self._thread_names[thread.tid] = thread.current_name()
            lines = self._walk(thread, items, True)
            if lines:
                self._write("".join(lines))

    def replay(self, thread, start_ns):
        """After a fork: rebuilds the open-call stack from the buffer, without writing, from start_ns."""
        buf = thread.buf
        items = buf[:]
        del buf[:]
        if items and items[-1].__class__ is not int:
            items.pop()
        self._walk(thread, items, False)
        thread.stack[:] = [(suffix, start_ns) for suffix, _ in thread.stack]

    def _walk(self, thread, items, emit_lines):
        if not thread.prefix:
            thread.prefix = '{"ph":"X","pid":%d,"tid":%d,"ts":' % (self.pid, thread.tid)
        # Integer formatting of ns as "us.fraction" is ~25% cheaper than "%.3f" of a float.
        line = thread.prefix + '%d.%03d,"dur":%d.%03d,%s'
        out = []
        emit = out.append
        stack = thread.stack
        push = stack.append
        pop = stack.pop
        code_suffix = self._code_suffix.get
        c_suffix = self._c_suffix.get
        min_ns = self._min_ns
        max_depth = self._max_depth
        cap = self._cap
        admitted = self._admitted
        dropped = self.dropped
        written = 0
        it = iter(items)
        for item in it:
            if item.__class__ is int:  # an exit
                if stack:
                    suffix, start = pop()
                    if suffix:
                        duration = item - start
                        if duration >= min_ns:
                            if emit_lines:
                                emit(line % (start // 1000, start % 1000, duration // 1000, duration % 1000, suffix))
                            written += 1
                continue
            start = next(it)
            if item.__class__ is str:  # a C function, named on the hot path
                suffix = c_suffix(item)
                if suffix is None:
                    suffix = self._c_suffix[item] = '"name":%s,"cat":"c"},\n' % _quote(item)
                if stack and not stack[-1][0]:
                    # Calls made by code that is not recorded are not recorded either.
                    if stack[-1][0] is None:
                        push((None, start))
                        continue
            else:
                entry = code_suffix(item)
                suffix = entry[1] if entry is not None and entry[0] is item else self.suffix_for(item)
            if suffix is not None:
                if len(stack) >= max_depth:
                    suffix = None
                elif admitted < cap:
                    admitted += 1
                else:
                    dropped += 1
                    suffix = ""  # past the cap: counted, and its callees are counted too
            push((suffix, start))
        self._admitted = admitted
        self.dropped = dropped
        self.events += written
        return out

    def close(self, end_ns, threads, process_name, end_metadata):
        """Closes open calls as unfinished, writes the M events and tracerEnd, closes the file."""
        with self.lock:
            if self.closed:
                return
            lines = []
            for thread in threads:
                self._thread_names[thread.tid] = thread.current_name()
                if not thread.prefix:
                    continue
                line = thread.prefix + '%.3f,"dur":%.3f,%s'
                for suffix, start in thread.stack:
                    if suffix:
                        lines.append(line % (start / 1000, (end_ns - start) / 1000, suffix[:-3] + _UNFINISHED))
                        self.unfinished += 1
                        self.events += 1
                del thread.stack[:]
            main_tid = threads[0].tid if threads else self.pid
            meta = ['{"ph":"M","pid":%d,"tid":%d,"name":"process_name","args":{"name":%s}}' % (
                self.pid, main_tid, _quote(process_name))]
            for tid, name in self._thread_names.items():
                meta.append('{"ph":"M","pid":%d,"tid":%d,"name":"thread_name","args":{"name":%s}}' % (
                    self.pid, tid, _quote(name)))
            lines.append(",\n".join(meta))
            end = dict(end_metadata)
            end.update(events=self.events, dropped_events=self.dropped, unfinished=self.unfinished,
                       end_mono_ns=end_ns)
            lines.append('\n],"tracerEnd":%s}\n' % to_json(end))
            self._write("".join(lines))
            self.closed = True
            _os_close(self.fd)

    def abandon(self):
        """In a forked child: forgets the parent's file without writing to it."""
        self.closed = True
        try:
            _os_close(self.fd)
        except OSError:
            pass

    def _write(self, text):
        if self.closed:
            return
        data = memoryview(text.encode())  # ASCII: _quote escapes the rest
        while data:
            data = data[_os_write(self.fd, data):]


_BuiltinType = type(len)  # builtin_function_or_method: len, time.sleep, [].append bound
_MethodDescriptorType = type(list.append)
_ModuleType = type(os)


class CFunctionNames:
    """Names C callables as `module.name` or `Type.method` without keeping user objects alive."""

    def __init__(self):
        self._by_callable = {}  # static callables (module functions, descriptors, classes)
        self._by_method = {}  # (type of self, name) -> name, for builtins bound to an instance

    def name(self, func):
        """The display name of a C callable; hashes nothing that could run user code."""
        cls = func.__class__
        if cls is _BuiltinType or cls is _MethodDescriptorType:
            name = self._by_callable.get(func)  # pointer hashes: no user code runs
            if name is not None:
                return name
        return self._slow_name(func, cls)

    def _slow_name(self, func, cls):
        if cls is _BuiltinType:
            owner = func.__self__
            if owner is None or owner.__class__ is _ModuleType:
                name = "%s.%s" % (func.__module__ or "builtins", func.__qualname__)
                self._by_callable[func] = name
                return name
            # Bound to an instance: keying by func would keep the instance alive.
            key = (owner.__class__, func.__name__)
            name = self._by_method.get(key)
            if name is None:
                name = self._by_method[key] = _type_name(owner.__class__) + "." + func.__name__
            return name
        if cls is _MethodDescriptorType:
            name = self._by_callable[func] = _type_name(func.__objclass__) + "." + func.__name__
            return name
        if isinstance(func, type):
            return _type_name(func)
        name = getattr(cls, "__name__", None)
        if name == "method-wrapper" and cls.__module__ == "builtins":  # (1).__add__
            return _type_name(func.__self__.__class__) + "." + str(func.__name__)
        if cls.__module__ == "builtins" and isinstance(name, str) and "descriptor" in name:
            objclass = getattr(func, "__objclass__", None)
            if isinstance(objclass, type):
                return _type_name(objclass) + "." + str(getattr(func, "__name__", "?"))
        return _type_name(cls)  # a callable object: name its class


def _type_name(cls):
    module = cls.__module__
    qualname = cls.__qualname__
    if module == "builtins" or not isinstance(module, str):
        return qualname
    return module + "." + qualname
