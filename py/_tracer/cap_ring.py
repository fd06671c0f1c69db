"""--tracer_entries N (without --flight): the writer's side of the event cap, which keeps a
process's first and last calls (docs/internals.md, section 2a, "Event cap").

The cores record every call. The writer keeps every events and values block it hands out until
the blocks retired so far (a thread's block is retired when it asks for its next one of that
kind) hold the head's share of the calls, ceil(N/2): every call that ended by then is in a block
kept for good, so the process's first ceil(N/2) calls by end time are in the file. The blocks
handed out after that go into a ring once retired: the oldest one big enough is recycled for the
thread that asks (ring.reuse) as long as the blocks retired after it hold the tail's share,
floor(N/2) (never a newer one instead: it would leave older calls behind, outside the tail).
So the file stays bounded (the head, the tail, the current blocks) and holds every call that
ended after the last recycled call. The reader (lib/raw/cap.ts) keeps exactly the first
ceil(N/2) and the last floor(N/2) calls and counts the rest as dropped.

What the ring recycles is counted in the file, not in process memory, so that a SIGKILLed
process's count is right too: its `D` record (float64 LE: calls recycled, then the latest end in
ns of a recycled call: every call that ended later is in the file). Both are stored before the
block is reset (killed in between, the block's calls are counted twice: as recycled and as calls
the reader leaves out); blocks are taken only by the writer, under its lock.
"""

from collections import deque
from struct import Struct

_VALUES_CALL = Struct("<dddI4x")  # a values block's call: start, dur, name id, text bytes
_RECORD, _CALLS, _LAST_END = 0, 1, 2


def shares(cap):
    """(head, tail): the calls kept from a process's start and from its end for `cap` calls."""
    return (cap + 1) // 2, cap // 2


class CapRing:
    """The events and values blocks of one writer's file: the head's, kept, then a ring."""

    def __init__(self, cap, dropped_record):
        """`dropped_record()`: the payload (16 bytes) of a new `D` record, or None when the file
        takes no more; asked for once, when the first block is recycled."""
        self._head_left, self._tail = shares(cap)
        self._new_dropped = dropped_record
        self._dropped = None  # the D record's numbers, once there is one
        self._current = {}  # (kind, tid) -> [the record the thread fills, in the ring]
        self._retired = deque()  # [record, calls, latest end], oldest first: the ring's
        self._retired_calls = 0

    def take(self, kind, tid, least):
        """Retires the thread's current block of `kind`; returns a retired ring record (a
        memoryview of head and payload) whose payload holds at least `least` bytes, its calls
        counted in the `D` record, or None (the writer appends a new block)."""
        old = self._current.pop((kind, tid), None)
        if old is not None:
            record, in_ring = old
            calls, last_end = _calls(kind, record)
            if in_ring:
                self._retired.append([record, calls, last_end])
                self._retired_calls += calls
            elif self._head_left > 0:
                self._head_left -= calls
        if self._head_left > 0:
            return None
        older = 0  # the calls of this block and of those retired before it
        for i, block in enumerate(self._retired):
            older += block[_CALLS]
            if self._retired_calls - older < self._tail:
                # The blocks retired after it must hold the tail's share: a later one would
                # hold newer calls still (and leave older ones behind, outside the tail).
                return None
            if len(block[_RECORD]) - 8 < least:
                continue
            if self._dropped is None:
                payload = self._new_dropped()
                if payload is None:
                    return None
                self._dropped = payload.cast("d")
            del self._retired[i]
            self._retired_calls -= block[_CALLS]
            dropped = self._dropped
            dropped[1] = max(dropped[1], block[_LAST_END])  # first: it bounds what is gone
            dropped[0] += block[_CALLS]
            return block[_RECORD]
        return None

    def hold(self, kind, tid, record):
        """Notes `record` as the thread's current block of `kind` (new or recycled): the head's
        until the head's share of calls is retired, then the ring's."""
        self._current[(kind, tid)] = (record, self._head_left <= 0)


def _calls(kind, record):
    """(calls, the latest end in ns) of a block (its record): calls are stored in the order they
    end, so the last one ends latest."""
    payload = record[8:]
    if kind == b"E":
        numbers = payload.cast("d")
        count = int(numbers[1])
        last = 2 + 3 * (count - 1)
        return count, (numbers[last] + numbers[last + 1] if count else 0.0)
    end = 16 + payload[8:16].cast("q")[0]
    calls, last_end, at = 0, 0.0, 16
    while at + _VALUES_CALL.size <= end:
        start, dur, _, length = _VALUES_CALL.unpack_from(payload, at)
        calls += 1
        last_end = start + dur
        at += _VALUES_CALL.size + (length + 7 & ~7)
    return calls, last_end
