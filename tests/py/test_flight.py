"""--flight: the writer recycles retired events and values blocks (ring.py)."""

import struct
import unittest

from _tracer.ring import FlightRing
from rawread import records
from support import WriterCase


def fill(block, tid, start):
    """Stores one call (start, 1, name id 1) in an events block, as a core does."""
    numbers = block.cast("d")
    numbers[2:5] = memoryview(struct.pack("<3d", start, 1, 1)).cast("d")
    numbers[1] = 1


class RingOrderTest(unittest.TestCase):
    def setUp(self):
        self.now = 0
        self.ring = FlightRing(1.0, 1 << 30, clock=lambda: self.now)

    def record(self, size):
        return memoryview(bytearray(8 + size))

    def test_a_block_is_taken_only_once_it_retired_more_than_s_ago(self):
        first = self.record(64)
        self.ring.hold("E", 1, first)
        self.now = 10
        self.assertIsNone(self.ring.take("E", 1, 64))  # retires `first` at 10
        self.ring.hold("E", 1, self.record(64))
        self.now = 10 + 10 ** 9
        self.assertIsNone(self.ring.take("E", 2, 64))  # exactly S ago: not yet
        self.now += 1
        self.assertIs(self.ring.take("E", 2, 64), first)

    def test_a_current_block_is_never_taken(self):
        self.ring.hold("E", 1, self.record(64))
        self.now = 10 ** 12
        self.assertIsNone(self.ring.take("E", 2, 64))

    def test_a_block_too_small_is_passed_over(self):
        small, large = self.record(32), self.record(128)
        self.ring.hold("V", 1, small)
        self.ring.take("V", 1, 32)
        self.ring.hold("V", 1, large)
        self.ring.take("V", 1, 128)
        self.now = 10 ** 12
        self.assertIs(self.ring.take("V", 2, 100), large)
        self.assertIs(self.ring.take("V", 3, 16), small)

    def test_past_the_budget_the_oldest_goes_whatever_its_age(self):
        ring = FlightRing(3600.0, 100, clock=lambda: self.now)
        first, second = self.record(64), self.record(64)
        ring.hold("E", 1, first)
        ring.take("E", 1, 64)
        ring.hold("E", 1, second)
        self.assertIs(ring.take("E", 1, 64), first)  # 72 + 72 retired bytes > 100


class FlightWriterTest(WriterCase):
    config_values = {"flight_s": 0.5, "tracer_entries": 1000}

    def test_a_recycled_block_is_reset_then_renumbered(self):
        first = self.writer.events_block(7, 4)
        fill(first, 7, 100.0)
        self.writer.events_block(7, 4)  # retires `first`
        self.writer._ring._window_ns = 0  # everything retired is old enough now
        again = self.writer.events_block(8, 4)
        self.assertEqual(again.tobytes(), first.tobytes())  # the same bytes of the file
        numbers = again.cast("d")
        self.assertEqual((numbers[0], numbers[1]), (8, 0))
        with open(self.path(), "rb") as file:
            data = file.read()
        heads = []
        offset = 16
        for kind, payload in records(data)[:-1]:
            if kind == "E":
                heads.append(data[offset + 1:offset + 4])
            offset = (offset + 8 + len(payload) + 7) & ~7
        self.assertEqual(heads, [b"\1\0\0", b"\0\0\0"])  # recycled once; the second never
        self.assertEqual([kind for kind, _ in records(data)].count("E"), 2)

    def test_the_file_stays_bounded_while_calls_go_on(self):
        for k in range(200):
            fill(self.writer.events_block(7, 64), 7, float(k))
        with open(self.path(), "rb") as file:
            kinds = [kind for kind, _ in records(file.read())]
        # 1,000 calls' worth of retired blocks of 64 slots, then the oldest is recycled
        self.assertLessEqual(kinds.count("E"), 1000 // 64 + 3)

    def test_values_blocks_are_recycled_too(self):
        first = self.writer.values_block(7, 64)
        self.writer.values_block(7, 64)
        self.writer._ring._window_ns = 0
        self.assertEqual(len(self.writer.values_block(9, 32)), len(first))
        self.assertEqual(first[:16].cast("q").tolist(), [9, 0])


class NoFlightTest(WriterCase):
    def test_without_flight_every_block_is_new(self):
        first = self.writer.events_block(7, 4)
        fill(first, 7, 1.0)
        self.writer.events_block(7, 4)
        self.writer.events_block(8, 4)
        self.assertEqual(first.cast("d")[:2].tolist(), [7, 1])


if __name__ == "__main__":
    unittest.main()
