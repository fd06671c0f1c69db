"""Values as text, for --log_func_args and --log_func_retval (and exception messages): the repr of
a value, cut at VALUE_LIMIT characters, that never reaches the program.

- Builtin scalars and containers are rendered here (no code of the program's runs, and a huge or
  self-containing container costs no more than VALUE_LIMIT characters).
- An object with object's own repr gets that repr, made here (`<mod.Type object at 0x...>`).
- A repr written in C (an extension type's) runs in the calling thread: such reprs neither block
  nor call back into the program in practice.
- A repr written in Python runs in the repr thread (ReprThread), in a copy of the caller's context,
  while the caller waits: for the thread to take it (at most REPR_TIMEOUT_S), then for the repr to
  return (at most REPR_RUN_LIMIT_S). A repr that raises (a RecursionError included) gives
  `<Type: repr raised Error>`; one that does not return in time (it waits for a lock the caller
  holds, say) gives `<Type: repr did not return>`, and that type's repr is not run again.

The caller is a recording callback: CPython fires no event for the code it runs (its own, the
reprs), so nothing here is recorded.
"""

import sys
from _thread import allocate_lock, get_ident, start_new_thread
from contextvars import copy_context
from os import getpid
from time import monotonic

from .writer import quote

VALUE_LIMIT = 256  # characters of one value's text; a longer one is cut and ends with "..."
REPR_TIMEOUT_S = 0.5  # the longest wait for the repr thread to take a request
REPR_RUN_LIMIT_S = 0.05  # a repr running longer is taken to block
_STUCK_WAIT_S = 0.02  # how long a repr waits behind one that did not return in time
_MAX_QUEUED = 16  # reprs waiting behind such a one; more are not run
_MAX_DEPTH = 3  # containers nested deeper are "..."
_MAX_INT_BITS = 3000  # a larger int is "<int of N bits>" (its decimal text costs time)
_SMALL_INT = 1 << 62
_SHORT_STR = VALUE_LIMIT // 4  # its repr is at most 4 characters a character (\x.., \u....: cut)

_object_repr = object.__repr__
_FunctionType = type(lambda: None)
_SCALARS = (int, float, complex, bool, type(None), type(Ellipsis))
_SEQUENCES = {list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"), frozenset: ("frozenset({", "})")}


class _NoValue:
    """The `retval` of a call that ended by an exception."""

    __slots__ = ()

    def __repr__(self):
        return "NO_VALUE"


NO_VALUE = _NoValue()
_TIMED_OUT = object()  # the repr did not return in time
_BUSY = object()  # an earlier repr still runs: this one was not started


def type_name(cls):
    """`qualname`, with its module unless it is builtins."""
    module = getattr(cls, "__module__", None)
    name = getattr(cls, "__qualname__", None) or getattr(cls, "__name__", "?")
    return name if module in (None, "builtins") else "%s.%s" % (module, name)


def _cut(text):
    if len(text) > VALUE_LIMIT:
        return text[:VALUE_LIMIT - 3] + "..."
    return text


class _Renderer:
    """Writes a value's text into a list of pieces until the budget is spent."""

    __slots__ = ("pieces", "left", "reprs")

    def __init__(self, reprs):
        self.pieces = []
        self.left = VALUE_LIMIT
        self.reprs = reprs

    def put(self, text):
        self.pieces.append(text)
        self.left -= len(text)

    def value(self, value, depth):
        if self.left <= 0:
            return
        cls = type(value)
        if cls in _SCALARS:
            if cls is int and value.bit_length() > _MAX_INT_BITS:
                self.put("<int of %d bits>" % value.bit_length())
            else:
                self.put(repr(value))
        elif cls is str or cls is bytes or cls is bytearray:
            # Only the part that can show is turned into text.
            head = value[:self.left + 1]
            text = repr(head)
            self.put(text if len(head) == len(value) else text + "...")
        elif cls in _SEQUENCES:
            opening, closing = _SEQUENCES[cls]
            if depth >= _MAX_DEPTH and value:
                self.put(opening + "..." + closing)
                return
            self.put(opening)
            for i, item in enumerate(value):
                if self.left <= 0:
                    return
                if i:
                    self.put(", ")
                self.value(item, depth + 1)
            self.put("," + closing if cls is tuple and len(value) == 1 else closing)
        elif cls is dict:
            if depth >= _MAX_DEPTH and value:
                self.put("{...}")
                return
            self.put("{")
            for i, (key, item) in enumerate(value.items()):
                if self.left <= 0:
                    return
                if i:
                    self.put(", ")
                self.value(key, depth + 1)
                self.put(": ")
                self.value(item, depth + 1)
            self.put("}")
        else:
            self.put(self.reprs.of(value, cls))


class ReprThread:
    """Runs the program's Python reprs in a thread of their own, with a timeout (see the module
    doc). The thread records nothing and is stopped before a fork when it is idle."""

    def __init__(self):
        self._pid = 0
        self._requests = []
        self._wake = None  # a lock the thread waits on; released when requests are queued
        self._busy_since = 0.0  # monotonic time of the request being run, 0 when idle
        self._stopped = None  # released by the thread as it ends
        self._stuck_types = set()
        self._tid = None
        self._done = []  # requests the thread has run, kept for a caller to drop

    def of(self, value, cls):
        """The text of an object that is no builtin scalar or container."""
        func = getattr(cls, "__repr__", _object_repr)
        if func is _object_repr:
            return "<%s object at %#x>" % (type_name(cls), id(value))
        if cls in self._stuck_types:
            return "<%s: repr did not return>" % type_name(cls)
        if isinstance(func, _FunctionType):
            ok, text = self._call(func, value)
        else:
            ok, text = _guarded(func, value)
        if not ok:
            if text is _TIMED_OUT:
                self._stuck_types.add(cls)
                return "<%s: repr did not return>" % type_name(cls)
            if text is _BUSY:
                return "<%s: repr not run (an earlier one has not returned)>" % type_name(cls)
            return "<%s: repr raised %s>" % (type_name(cls), text)
        if not isinstance(text, str):
            return "<%s: repr returned %s>" % (type_name(cls), type_name(type(text)))
        return _cut(text.encode("utf-8", "backslashreplace").decode("utf-8"))

    def _call(self, func, value):
        """(True, text) or (False, the error's type name, _TIMED_OUT or _BUSY)."""
        timeout = REPR_TIMEOUT_S
        if self._busy_since and monotonic() - self._busy_since > REPR_TIMEOUT_S:
            # An earlier repr did not return in time: it may still be about to (it waited for
            # the GIL, say), or be stuck for good: wait a little, and not at all past a queue.
            if len(self._requests) >= _MAX_QUEUED:
                return False, _BUSY
            timeout = _STUCK_WAIT_S
        if self._pid != getpid():
            self._start()
        # The program's objects of the requests done die here, in the program's thread: dying
        # in the repr thread, their finalizers (weakref callbacks that take the import lock, say)
        # would wait there for what this thread holds.
        self._done = []
        done = allocate_lock()
        done.acquire()
        # [done, func, value, the caller's context, the outcome, when the thread started it]
        box = [done, func, value, copy_context(), (False, _TIMED_OUT), 0.0]
        self._requests.append(box)
        try:
            self._wake.release()
        except RuntimeError:  # already released: the thread has yet to take the queue
            pass
        # The thread may be slow to take the request (a loaded machine): that is waited for up to
        # `timeout`; the repr itself gets REPR_RUN_LIMIT_S.
        deadline = monotonic() + timeout
        while not done.acquire(True, REPR_RUN_LIMIT_S):
            now = monotonic()
            if now >= deadline or (box[5] and now - box[5] > REPR_RUN_LIMIT_S):
                return False, _TIMED_OUT if timeout == REPR_TIMEOUT_S else _BUSY
        return box[4]

    def _start(self):
        self._pid = getpid()
        self._requests = []
        self._busy_since = 0.0
        self._wake = allocate_lock()
        self._wake.acquire()
        self._stopped = allocate_lock()
        self._stopped.acquire()
        start_new_thread(self._run, (self._wake, self._stopped))

    def is_current(self):
        """True in the repr thread."""
        return self._tid == get_ident()

    def _run(self, wake, stopped):
        self._tid = get_ident()
        _stop_tracing_this_thread()
        requests = self._requests
        try:
            while True:
                wake.acquire()
                while requests:
                    box = requests.pop(0)
                    if box is None:
                        return
                    self._busy_since = box[5] = monotonic()
                    box[4] = box[3].run(_guarded, box[1], box[2])
                    self._busy_since = 0.0
                    done = box[0]
                    self._done.append(box)  # its objects die in the caller's thread (_call)
                    box = None
                    done.release()
        finally:
            stopped.release()

    def stop_idle_thread(self):
        """Ends the thread when it is idle: before a fork (a fork child has none, and CPython
        3.12+ warns about a fork with threads), and before a core starts again (3.9-3.11: its
        profile hook would reach every running thread); the next repr starts it again."""
        if self._pid != getpid() or self._busy_since or self._requests:
            return
        self._pid = 0
        self._requests.append(None)
        try:
            self._wake.release()
        except RuntimeError:
            pass
        self._stopped.acquire(True, REPR_TIMEOUT_S)


def _guarded(func, value):
    try:
        return True, func(value)
    except BaseException as error:  # noqa: BLE001 - nothing of a repr may reach the program
        return False, type_name(type(error))


_enter_tracing = None  # () -> None: CPython fires no event for the calling thread from then on


def prepare():
    """Readies what the repr thread needs to record nothing (3.12+: sys.monitoring fires for
    every thread, and fires nothing for a thread that is "tracing"; 3.8-3.11: a thread started
    with _thread has no profile function). Called before recording starts where reprs are sure
    to run: ctypes is imported here rather than as the program's calls."""
    global _enter_tracing
    if _enter_tracing is not None or sys.version_info < (3, 12):
        return
    try:
        import ctypes

        api = ctypes.pythonapi
        api.PyThreadState_Get.restype = ctypes.c_void_p
        api.PyThreadState_EnterTracing.argtypes = (ctypes.c_void_p,)
        get, enter = api.PyThreadState_Get, api.PyThreadState_EnterTracing
        _enter_tracing = lambda: enter(get())  # noqa: E731
    except Exception:  # noqa: BLE001 - without it the reprs' own calls are recorded
        _enter_tracing = lambda: None  # noqa: E731


def _stop_tracing_this_thread():
    prepare()
    if _enter_tracing is not None:  # None before 3.12: nothing to do
        _enter_tracing()


_reprs = ReprThread()


def text_of(value):
    """A value's text, at most VALUE_LIMIT characters (see the module doc)."""
    cls = type(value)
    if cls is int and -_SMALL_INT < value < _SMALL_INT or cls is bool or value is None:
        return repr(value)  # the common cases first: nothing to cut
    if cls is str and len(value) < _SHORT_STR:
        return _cut(repr(value))
    renderer = _Renderer(_reprs)
    renderer.value(value, 0)
    return _cut("".join(renderer.pieces))


def message_of(error):
    """An exception's message (its str()), by the same rules as a value's repr."""
    cls = type(error)
    func = getattr(cls, "__str__", None)
    if func is BaseException.__str__ and all(type(arg) in (str, int, float) for arg in error.args):
        ok, text = _guarded(func, error)
    elif isinstance(func, _FunctionType):
        ok, text = _reprs._call(func, error)
    else:
        ok, text = _guarded(str, error)
    if not ok:
        return "<message not available>"
    return _cut(str(text).encode("utf-8", "backslashreplace").decode("utf-8"))


def stop_idle_thread():
    """See ReprThread.stop_idle_thread."""
    _reprs.stop_idle_thread()


def in_repr_thread():
    """True in the thread that runs the program's reprs (what it does is not the program's)."""
    return _reprs.is_current()


_CO_VARARGS = 0x04
_CO_VARKEYWORDS = 0x08
_CO_RESUMABLE = 0x20 | 0x80 | 0x200  # generator, coroutine, async generator


def is_resume(frame):
    """True when `frame` resumes a generator or coroutine rather than starting it (a 3.8-3.11
    profile "call" event; 3.12+ reports resumes as events of their own)."""
    code = frame.f_code
    if not code.co_flags & _CO_RESUMABLE or sys.version_info >= (3, 12):
        return False
    lasti = frame.f_lasti
    if sys.version_info < (3, 11):
        return lasti >= 0  # -1 before the first instruction
    return code.co_code[lasti + 1] != 0  # 3.11: at a RESUME, whose argument is 0 at the start


def arguments_json(frame):
    """The arguments of a call that starts in `frame`, as the text of a JSON object
    `{"parameter": "value text", ...}`."""
    code = frame.f_code
    entry = _parameters.get(id(code))
    if entry is None or entry[0] is not code:
        entry = _parameters[id(code)] = (code, _parameters_of(code))
    parameters = entry[1]
    if not parameters:
        return "{}"
    local = frame.f_locals
    parts = []
    for name, key in parameters:
        try:
            value = local[name]
        except KeyError:  # a parameter deleted before this look
            continue
        if type(value) is int and -_SMALL_INT < value < _SMALL_INT:
            parts.append(key + '"' + repr(value) + '"')
        else:
            parts.append(key + quote(text_of(value)))
    return "{" + ",".join(parts) + "}"


# id(code) -> (code, its parameters' (name, JSON key text)); the entry holds the code object, which
# keeps its id unique (as names.py does).
_parameters = {}


def _parameters_of(code):
    count = code.co_argcount + code.co_kwonlyargcount
    if code.co_flags & _CO_VARARGS:
        count += 1
    if code.co_flags & _CO_VARKEYWORDS:
        count += 1
    return tuple((name, quote(name) + ":") for name in code.co_varnames[:count])
