"""--tracer_entries without --flight: the writer keeps the head's blocks, then recycles the oldest
retired ones while those left hold the tail's share (cap_ring.py)."""

import struct
import unittest

from _tracer.cap_ring import CapRing, shares
from rawread import records
from support import WriterCase


def fill(block, calls, first_end):
    """Stores `calls` calls ending at first_end, first_end + 1, ... in an events block."""
    numbers = block.cast("d")
    for k in range(calls):
        call = struct.pack("<3d", first_end + k - 1, 1, 1)
        numbers[2 + 3 * k:5 + 3 * k] = memoryview(call).cast("d")
    numbers[1] = calls


def events_record(slots):
    """An events record (head and payload) of `slots` slots, outside any file."""
    return memoryview(bytearray(8 + 16 + 24 * slots))


class SharesTest(unittest.TestCase):
    def test_the_head_takes_the_odd_call(self):
        self.assertEqual([shares(n) for n in (1, 2, 3, 50)], [(1, 0), (1, 1), (2, 1), (25, 25)])


class CapRingTest(unittest.TestCase):
    def setUp(self):
        self.dropped = memoryview(bytearray(16))
        self.asked = 0
        self.ring = CapRing(20, self.new_dropped)  # head 10, tail 10

    def new_dropped(self):
        self.asked += 1
        return self.dropped

    def retire(self, tid, calls, first_end, slots=8, least=0):
        """Retires the thread's block; hands it the one the ring gives for `least` bytes, or a
        new one of `slots` slots, holding `calls` calls."""
        record = self.ring.take(b"E", tid, least) or events_record(slots)
        self.ring.hold(b"E", tid, record)
        fill(record[8:], calls, first_end)
        return record

    def test_head_blocks_are_kept_then_the_oldest_ring_block_is_recycled(self):
        head = [self.retire(1, 8, 100), self.retire(1, 8, 200)]  # the second completes the head
        ring = [self.retire(1, 8, 300 + 100 * k) for k in range(3)]
        self.assertEqual(self.asked, 0, "nothing recycled: the ring holds 16 calls with the oldest")
        again = self.ring.take(b"E", 1, 0)  # retires the third: 24 retired, 16 without the oldest
        self.assertIs(again, ring[0])
        self.assertNotIn(again, head)
        self.assertEqual(self.dropped.cast("d").tolist(), [8, 307])  # its 8 calls, latest end 307
        self.assertEqual(self.asked, 1)

    def test_a_block_too_small_is_passed_over(self):
        never = 1 << 30  # no block is that large: nothing is recycled while these are made
        self.retire(1, 10, 100, slots=10, least=never)  # the head
        small = self.retire(1, 2, 200, slots=2, least=never)
        large = self.retire(1, 8, 300, slots=8, least=never)
        self.retire(1, 8, 400, slots=8, least=never)
        self.retire(1, 8, 500, slots=8, least=never)
        taken = self.ring.take(b"E", 1, 8 * (2 + 3 * 4))
        self.assertIs(taken, large)
        self.assertIsNot(taken, small)

    def test_the_tail_share_is_never_recycled(self):
        self.retire(1, 10, 100, slots=10)
        self.retire(1, 8, 200)
        self.retire(1, 8, 300)
        self.assertIsNone(self.ring.take(b"E", 1, 0))  # 16 retired: 8 without the oldest < 10

    def test_a_newer_block_is_never_recycled_before_an_older_one(self):
        self.retire(1, 10, 100, slots=10)  # the head
        self.retire(1, 8, 200)
        self.retire(1, 2, 300)
        self.retire(1, 2, 400)
        # Retired: 8, 2 and 2 calls. Without the oldest, 4 < 10 are left; without the second, 10
        # would be, but the oldest's calls would then be older than every call recycled.
        self.assertIsNone(self.ring.take(b"E", 1, 0))
        self.assertEqual(self.asked, 0)

    def test_values_blocks_count_their_calls(self):
        ring = CapRing(2, self.new_dropped)  # head 1, tail 1
        blocks, taken = [], []
        for k in range(3):
            record = memoryview(bytearray(8 + 16 + 64 + 64))
            ring.hold(b"V", 7, record)
            payload = record[8:]
            for i, end in enumerate((10 * k + 1, 10 * k + 2)):  # two calls, 8 bytes of text each
                struct.pack_into("<dddI4x8s", payload, 16 + 40 * i, end - 1, 1, 1, 8, b"{}      ")
            payload[8:16].cast("q")[0] = 80
            blocks.append(record)
            taken.append(ring.take(b"V", 7, 0))
        # blocks[0] is the head's; blocks[1] goes once blocks[2] holds the tail's share
        self.assertEqual(taken[:2], [None, None])
        self.assertIs(taken[2], blocks[1])
        self.assertEqual(self.dropped.cast("d").tolist(), [2, 12])


class CapWriterTest(WriterCase):
    config_values = {"tracer_entries": 1000}

    def test_the_file_stays_bounded_and_counts_what_it_recycled(self):
        for k in range(200):
            fill(self.writer.events_block(7, 64), 64, 64 * k + 1)
        with open(self.path(), "rb") as file:
            found = records(file.read())
        kinds = [kind for kind, _ in found]
        # The head: 500 calls in 8 blocks; the ring: 500 calls in 8 blocks, one more retired, the
        # current one.
        self.assertLessEqual(kinds.count("E"), 8 + 8 + 2)
        (dropped,) = [payload for kind, payload in found if kind == "D"]
        count, latest = struct.unpack("<2d", dropped)
        live = sum(int(struct.unpack_from("<d", payload, 8)[0]) for kind, payload in found
                   if kind == "E")
        self.assertEqual(count + live, 200 * 64, "every call is in the file or counted")
        self.assertGreater(latest, 0)


if __name__ == "__main__":
    unittest.main()
