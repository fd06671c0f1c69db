"""--flight S: the ring of events and values blocks that keeps a process's file bounded
(docs/internals.md, section 2a, "Flight recorder").

A thread's block is "current" until the thread asks for a new one of its kind; then it is
"retired". When a thread asks for a block, the writer first offers the ring the oldest retired
block that is big enough and whose newest call ended more than S seconds ago (or, once the retired
blocks hold more than the budget, the oldest big enough one whatever its age), and appends a new
one only when there is none. A thread's current block is never taken. Blocks are taken only by
the writer, under its lock.

Recycling a block (`reuse`) stores, in this order: its count (or bytes used) 0, its tid, then a
new recycle number in its record head's three spare bytes; only then does its new owner store
calls into it. A reader of a dead process's file therefore never sees a block that mixes two
owners: before the count is 0 the old calls are whole, after it the new owner's count covers only
its own. A reader of a live file (a snapshot, lib/raw/snapshot.ts) copies it, then reads each
block's recycle number again: a block whose number changed was recycled while it was copied, and
its copy is left out.
"""

from collections import deque
from time import perf_counter_ns

# A block's retirement: the clock then bounds the end of every call in it (a thread asks for a new
# block right after its last call ended).
_RECORD, _RETIRED_NS = 0, 1
_SEQ_MASK = 0xFFFFFF  # the recycle number: the head's three spare bytes, little-endian


class FlightRing:
    """The retired blocks of one writer's file, by kind, oldest first."""

    def __init__(self, window_s, budget_bytes, clock=perf_counter_ns):
        self._window_ns = int(window_s * 1e9)
        self._budget = budget_bytes
        self._clock = clock
        self._current = {}  # (kind, tid) -> the record (head + payload) the thread fills
        self._retired = {}  # kind -> deque of [record, retired_ns]
        self._retired_bytes = 0

    def take(self, kind, tid, least):
        """Retires the thread's current block of `kind`; returns a retired record (a memoryview of
        its head and payload) whose payload holds at least `least` bytes, recycled (`reuse`), or
        None when none may be taken yet (the writer appends a new one)."""
        retired = self._retired.setdefault(kind, deque())
        now = self._clock()
        old = self._current.pop((kind, tid), None)
        if old is not None:
            retired.append([old, now])
            self._retired_bytes += len(old)
        over_budget = self._retired_bytes > self._budget
        expired = now - self._window_ns
        for i, block in enumerate(retired):
            if not over_budget and block[_RETIRED_NS] >= expired:
                break  # oldest first: the later ones are younger still
            record = block[_RECORD]
            if len(record) - 8 >= least:
                del retired[i]
                self._retired_bytes -= len(record)
                return record
        return None

    def hold(self, kind, tid, record):
        """Notes `record` as the thread's current block of `kind` (new or recycled)."""
        self._current[(kind, tid)] = record


def reuse(record, tid, count_format):
    """Resets a recycled record for thread `tid` in the order the module doc gives; returns its
    payload. `count_format`: "d" for an events block's count, "q" for a values block's bytes used."""
    payload = record[8:]
    numbers = payload[:16].cast(count_format)
    numbers[1] = 0
    numbers[0] = tid
    seq = (int.from_bytes(record[1:4], "little") + 1) & _SEQ_MASK
    record[1:4] = seq.to_bytes(3, "little")
    return payload
