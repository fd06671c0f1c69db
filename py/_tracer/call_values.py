"""--log_func_args and --log_func_retval: what every core calls when a recorded Python call starts
and ends (the protocol of pairing.py's values pairing and of _native.c, docs/internals.md 5).

- `start(frame, tid, depth, name_id)`, before the call's start is read from the clock: the
  arguments' text goes into the thread's open-call arguments record (`O`, a slot per depth: the
  reader gives it to the call if it is still open at the end), and comes back as the token the
  core keeps with the call; None (no token) for a generator's resume.
- `finish(tid, start_ns, dur_ns, name_id, token, retval)`, when a call with a token ends (and is
  long enough): the call is written whole into the thread's values block (`V`): its numbers, as an
  events block has them, and its args (`func_args`, `return_value`) as the text of a JSON object;
  True tells the core not to store it in its events block. `retval` is NO_VALUE for a call that
  ended by an exception.

Each thread writes only into its own blocks, as the cores do into their events blocks: no lock and
no record per call; the bytes are stored before the count or head that covers them.

The native core does what start and finish do itself, into the same blocks, byte for byte
(`native_values()`, _native.c native_start); the Python cores call them.
"""

import sys
from _struct import Struct

from . import debug
from .values import NO_VALUE, arguments_json, is_resume, text_of
from .writer import OPEN_ARGS_SLOT, quote

_RESUMES_START = sys.version_info < (3, 12)  # a profile "call" event may be a resume
_SLOT_HEAD = Struct("<II")  # text bytes, name id
_SLOT_TEXT = OPEN_ARGS_SLOT - _SLOT_HEAD.size
_FIRST_VALUES_BYTES = 16 << 10  # a thread's first values block; each next one is twice as big
_LAST_VALUES_BYTES = 1 << 20
_FIRST_OPEN_SLOTS = 16
_TOO_LONG = b'{"(arguments)":"too long to keep for a call still open"}'
_USED = Struct("<q")  # a values block's bytes used
_CALL = Struct("<dddI4x")  # a values block's call: start_ns, dur_ns, name id, args text bytes


class _ThreadBlocks:
    """One thread's values block and open-call arguments record, in one writer's file."""

    __slots__ = ("writer", "values", "used", "size", "open", "slots")

    def __init__(self, writer):
        self.writer = writer
        self.values = None  # memoryview (bytes) of the values block's payload
        self.used = 0  # text bytes stored in it
        self.size = 0  # text bytes it holds
        self.open = None  # memoryview (bytes) of the open-call arguments record's payload
        self.slots = 0


class CallValues:
    """The values recorder of one process (its writer is the registry's, which a fork changes)."""

    NO_VALUE = NO_VALUE

    def __init__(self, registry, names, args, retval):
        self._registry = registry
        self._threads = {}  # tid -> _ThreadBlocks
        self._args = args
        self._retval = retval

    def native_values(self):
        """What the native core needs to record the values itself instead of calling start and
        finish: (log args, log return values, the text of a value it does not render itself)."""
        return self._args, self._retval, text_of

    def _blocks(self, tid):
        """The thread's blocks in the current writer's file, or None when it takes nothing (a
        fork child before its own writer, a full disk)."""
        writer = self._registry.writer
        blocks = self._threads.get(tid)
        if blocks is None or blocks.writer is not writer:
            blocks = self._threads[tid] = _ThreadBlocks(writer)
        return blocks if writer.writable() else None

    def start(self, frame, tid, depth, name_id):
        """See the module doc. An error here would be raised in the program's code by a Python
        core's callback: none leaves (no token)."""
        try:
            return self._start(frame, tid, depth, name_id)
        except Exception as error:  # noqa: BLE001
            debug.swallowed("recording a call's arguments", error)
            return None

    def _start(self, frame, tid, depth, name_id):
        if _RESUMES_START and is_resume(frame):
            return None
        if not self._args:
            return True
        text = arguments_json(frame)
        blocks = self._blocks(tid)
        if blocks is not None and (depth < blocks.slots or self._grow_open(blocks, tid, depth)):
            data = text.encode()
            if len(data) > _SLOT_TEXT:
                data = _TOO_LONG
            at = 16 + depth * OPEN_ARGS_SLOT
            view = blocks.open
            view[at + 8:at + 8 + len(data)] = data
            _SLOT_HEAD.pack_into(view, at, len(data), name_id)  # after the text it covers
        return text

    def _grow_open(self, blocks, tid, depth):
        """A larger open-call arguments record with the slots of the calls below `depth`."""
        slots = max(2 * blocks.slots, _FIRST_OPEN_SLOTS, depth + 1)
        block = blocks.writer.open_args_block(tid, slots)
        if block is None:
            return False
        if blocks.open is not None:
            end = 16 + min(depth, blocks.slots) * OPEN_ARGS_SLOT
            block[16:end] = blocks.open[16:end]
        blocks.open = block
        blocks.slots = slots
        return True

    def finish(self, tid, start, duration, name_id, token, retval):
        """See the module doc; an error leaves the call to the core's events block."""
        try:
            return self._finish(tid, start, duration, name_id, token, retval)
        except Exception as error:  # noqa: BLE001
            debug.swallowed("recording a call's values", error)
            return False

    def _finish(self, tid, start, duration, name_id, token, retval):
        blocks = self._blocks(tid)
        if blocks is None:
            return False
        if self._retval and retval is not NO_VALUE:
            returned = '"return_value":' + quote(text_of(retval))
            text = returned if token is True else '"func_args":' + token + "," + returned
        else:
            text = "" if token is True else '"func_args":' + token
        data = ("{" + text + "}").encode()
        size = _CALL.size + (len(data) + 7 & ~7)
        if blocks.used + size > blocks.size and not self._new_values(blocks, tid, size):
            return False
        at = 16 + blocks.used
        view = blocks.values
        _CALL.pack_into(view, at, start, duration, name_id, len(data))
        view[at + _CALL.size:at + _CALL.size + len(data)] = data
        blocks.used += size
        _USED.pack_into(view, 8, blocks.used)  # after the call it covers
        return True

    def _new_values(self, blocks, tid, needed):
        """A new values block with room for `needed` bytes at least."""
        size = min(max(2 * blocks.size, _FIRST_VALUES_BYTES), _LAST_VALUES_BYTES)
        size = max(size, needed)
        block = blocks.writer.values_block(tid, size)
        if block is None:
            return False
        blocks.values = block
        blocks.size = size
        blocks.used = 0
        return True

