import os
import unittest

from _tracer.pairing import Counts, make_pairing
from _tracer.threads import FIRST_EVENT_SLOTS, FIRST_STACK_SLOTS, ThreadRegistry
from _tracer.writer import TraceWriter
from rawread import Trace
from support import WriterCase


def code(name):
    """A distinct code object named `name`."""
    namespace = {}
    exec("def %s(): pass" % name, namespace)
    return namespace[name].__code__


class PairingCase(WriterCase):
    def setUp(self):
        super().setUp()
        self.registry = ThreadRegistry()
        self.registry.writer = self.writer
        self.counts = Counts()
        self.clock = 1000
        self.push, pop = make_pairing(self.registry, self.config, self.counts, self.next_clock)
        self.pop = lambda state: pop(state, self.next_clock())
        self.state = self.registry.new_thread()

    def next_clock(self):
        self.clock += 1000
        return self.clock

    def call(self, name):
        self.push(self.state, self.writer.code_id(code(name)))

    def finished(self, trace=None):
        return [name.split(" (")[0] for name, _, _ in (trace or self.trace()).named(self.state.tid)]

    def open_calls(self, trace=None):
        return [name.split(" (")[0] for name in (trace or self.trace()).open_names(self.state.tid)]


class PairingTest(PairingCase):
    def test_every_instant_is_in_the_file(self):
        self.call("outer")
        self.call("inner")
        self.assertEqual(self.open_calls(), ["outer", "inner"])
        self.pop(self.state)
        self.assertEqual(self.finished(), ["inner"])
        self.assertEqual(self.open_calls(), ["outer"])
        self.assertEqual(self.trace().thread_names()[self.state.tid], self.state.current_name())

    def test_a_return_from_before_recording_is_ignored(self):
        self.pop(self.state)  # a call that started before recording did
        self.call("f")
        self.pop(self.state)
        self.pop(self.state)
        self.assertEqual(self.finished(), ["f"])
        self.assertEqual(self.open_calls(), [])

    def test_blocks_grow_without_losing_a_call(self):
        depth = FIRST_STACK_SLOTS + 10
        for i in range(depth):
            self.call("f%d" % i)
        self.assertEqual(len(self.open_calls()), depth)
        calls = FIRST_EVENT_SLOTS * 3 + 5
        for _ in range(calls):
            self.call("leaf")
            self.pop(self.state)
        trace = self.trace()
        self.assertEqual(self.finished(trace).count("leaf"), calls)
        self.assertEqual(len(self.open_calls(trace)), depth)
        self.assertEqual(self.counts.deepest, depth + 1)


class FilterTest(PairingCase):
    config_values = {"max_stack_depth": 2, "tracer_entries": 4, "min_duration_us": 1.5}

    def test_depth_and_duration_but_no_cap_on_calls(self):
        self.call("a")
        self.call("b")
        self.call("too_deep")  # depth 3
        self.pop(self.state)
        self.pop(self.state)  # b: 3000 ns
        self.call("c")
        self.call("too_deep")
        self.pop(self.state)
        self.clock -= 500
        self.pop(self.state)  # c: 2500 ns
        self.call("d")  # the fourth call: --tracer_entries 4
        self.clock -= 600
        self.pop(self.state)  # d: 400 ns, too short
        self.call("e")  # past --tracer_entries: recorded (the writer and the reader cap calls)
        self.clock += 1000
        self.pop(self.state)  # e: 2000 ns
        self.pop(self.state)  # a
        self.assertEqual(self.finished(), ["b", "c", "e", "a"])
        self.assertEqual(self.counts.dropped, 0)
        self.assertEqual(self.counts.deepest, 2)


class ForkTest(PairingCase):
    def test_a_fork_records_privately_then_moves(self):
        self.call("main")
        self.call("forking")
        self.state.go_private()
        self.call("meanwhile")
        self.pop(self.state)
        before = self.trace()
        self.assertEqual(self.finished(before), [])
        self.assertEqual(self.open_calls(before), ["main", "forking"])
        # the parent: back to its file, with what was recorded meanwhile
        self.state.back_to_file(self.writer)
        self.assertEqual(self.finished(), ["meanwhile"])
        self.pop(self.state)
        self.assertEqual(self.finished(), ["meanwhile", "forking"])

    def test_a_fork_child_moves_to_its_own_file(self):
        self.call("main")
        self.call("forking")
        self.state.go_private()
        self.call("in_child")
        self.pop(self.state)
        parent = self.trace()
        child = TraceWriter(self.config, os.getpid(), self.names)
        child.write_header({"pid": "child"})
        self.registry.writer = child
        survivor = self.registry.after_fork()
        self.assertIs(survivor, self.state)
        survivor.to_new_file(child, 123456)
        with open(os.path.join(self.folder, child.file_name), "rb") as file:
            trace = Trace(file.read())
        self.assertEqual(self.finished(trace), ["in_child"])
        self.assertEqual(self.open_calls(trace), ["main", "forking"])
        self.assertEqual([start for start, _ in trace.open[self.state.tid]], [123456, 123456])
        # nothing moved into the parent's file
        self.assertEqual(self.trace().kinds, parent.kinds)
        self.assertEqual(self.finished(), [])


if __name__ == "__main__":
    unittest.main()
