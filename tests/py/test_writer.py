import errno
import os
import unittest

from _tracer import writer as writer_module

from _tracer import rawfile
from _tracer.writer import TraceWriter
from rawread import Trace, records
from support import WriterCase, fork


class WriterTest(WriterCase):
    def test_names_reach_the_file_before_their_ids_are_returned(self):
        def work():
            pass

        name_id = self.writer.code_id(work.__code__)
        name, cat = self.trace().names[name_id]
        self.assertTrue(name.startswith("%s (%s:" % (getattr(work.__code__, "co_qualname", "work"),
                                                     __file__)), name)
        self.assertEqual(cat, "py")
        self.assertEqual(self.writer.c_function_id(len), name_id + 1)
        self.assertEqual(self.trace().names[name_id + 1], ("builtins.len", "c"))

    def test_names_given_before_the_header_follow_it(self):
        child = TraceWriter(self.config, os.getpid(), self.names)  # a fork child's new writer
        name_id = child.c_function_id(len)  # the shim's own work, before the header is written
        child.write_header({"pid": "child"})
        with open(os.path.join(self.folder, child.file_name), "rb") as file:
            kinds = [kind for kind, _ in records(file.read())]
        self.assertEqual(kinds[:2], ["H", "N"])
        with open(os.path.join(self.folder, child.file_name), "rb") as file:
            self.assertEqual(Trace(file.read()).names[name_id], ("builtins.len", "c"))

    def test_excluded_code_has_no_id(self):
        def excluded_helper():
            pass

        self.assertEqual(self.writer.code_id(excluded_helper.__code__), -1)
        self.assertEqual(self.trace().names, {})

    def test_records_are_8_aligned_and_a_full_segment_is_padded(self):
        block = self.writer.events_block(7, 4)
        self.assertEqual(len(block), 8 * (2 + 3 * 4))
        # a record larger than the rest of the first segment goes into the next one
        big = "x" * (rawfile.FIRST_SEGMENT - 200)
        self.writer.write_process_name(big)
        with open(self.path(), "rb") as file:
            data = file.read()
        kinds = [kind for kind, _ in records(data)]
        self.assertEqual(kinds[:2], ["H", "E"])
        self.assertIn("P", kinds)
        self.assertEqual(kinds[-2], "M")
        offset = 16
        for kind, payload in records(data)[:-1]:
            self.assertEqual(offset % 8, 0)
            offset = (offset + 8 + len(payload) + 7) & ~7
        self.assertGreater(len(data), rawfile.FIRST_SEGMENT)  # zeros reserved, not cut yet

    def test_an_events_block_takes_the_rest_of_a_segment_rather_than_padding_it(self):
        room = self.writer._file.room()
        asked = (room // 8 - 2) // 3 + 100  # a bit more than fits
        block = self.writer.events_block(7, asked)
        self.assertEqual(len(block), 8 * (2 + 3 * (asked - 100)))
        self.assertEqual(self.writer._file.room(), 0)
        self.assertNotIn("P", self.trace().kinds)
        # far more than fits: a new segment, the rest of this one padded
        self.writer.events_block(7, 4 * asked)
        self.assertIn("P", self.trace().kinds)

    def test_close_cuts_the_reserved_zeros(self):
        self.writer.close({"exit": "exit", "end_mono_ns": 5})
        with open(self.path(), "rb") as file:
            data = file.read()
        *_, (last, end) = records(data)
        self.assertEqual(last, "end")
        self.assertEqual(end, len(data))
        self.assertEqual(self.trace().end, {"exit": "exit", "end_mono_ns": 5})

    def test_a_full_disk_stops_writing_and_says_why(self):
        reasons = []
        self.writer.on_lost = reasons.append
        original = rawfile._fallocate

        def full(fd, offset, length):
            raise OSError(errno.ENOSPC, "No space left on device")

        rawfile._fallocate = full
        try:
            self.writer.write_process_name("y" * (2 * rawfile.FIRST_SEGMENT))
            self.assertIsNone(self.writer.events_block(1, 256))
        finally:
            rawfile._fallocate = original
        self.assertEqual(len(reasons), 1)
        self.assertIn("ENOSPC", reasons[0])
        self.writer.close({"exit": "exit"})
        end = self.trace().end
        self.assertIn("ENOSPC", end["lost"])
        self.assertGreater(end["lost_mono_ns"], 0)

    def test_a_closed_descriptor_is_opened_again_by_path(self):
        os.close(self.writer._file.fd)
        self.writer.write_process_name("after close")
        self.writer.close({"exit": "exit"})
        names = [e["args"]["name"] for e in self.trace().meta]
        self.assertEqual(names, ["after close"])

    def test_a_fork_child_before_its_own_writer_writes_nothing(self):
        writer_module._forked()  # its fork hook in a child: this writer is now the parent's
        self.assertIsNone(self.writer.events_block(1, 256))
        self.writer.write_process_name("child")
        self.writer.c_function_id(len)  # the id is given; its name waits for the new file
        self.assertEqual(self.trace().meta, [])
        self.assertEqual(self.trace().names, {})


if __name__ == "__main__":
    unittest.main()


class ForkWindowTest(WriterCase):
    def test_python_code_a_fork_child_runs_before_the_writers_hook_writes_nothing(self):
        """threading's fork hook runs before the writer's in a child, and records calls (and so
        gives names) there: they must not reach the parent's file, which the child maps too."""
        read_end, write_end = os.pipe()
        pid = fork()
        if pid == 0:
            try:
                os.close(read_end)
                # As the child is while threading's hook runs: the writer's has yet to run.
                writer_module._forks[:] = [self.writer._forks, 1]
                self.writer._append(writer_module.KIND_NAMES, '[[9,"from the child","py"]]')
                self.writer.write_process_name("child")
                os.write(write_end, b"done")
            finally:
                os._exit(0)
        os.close(write_end)
        os.waitpid(pid, 0)
        with os.fdopen(read_end, "rb") as pipe:
            self.assertEqual(pipe.read(), b"done")
        self.assertEqual(self.trace().names, {})
        self.assertEqual(self.trace().meta, [])

    def test_the_parent_writes_while_a_fork_is_in_progress(self):
        writer_module._forking()
        try:
            self.writer.write_process_name("parent")
        finally:
            writer_module._not_forked()
        self.assertEqual([e["args"]["name"] for e in self.trace().meta], ["parent"])
