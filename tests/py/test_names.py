"""NameTable: ids given from many threads at once stay one id per name."""

import sys
import threading
import unittest

from _tracer.names import NameTable


class ManyThreads(unittest.TestCase):
    def test_threads_giving_new_names_at_once_each_get_their_own_id(self):
        # A thread switch between reading the table's length and appending to it gave two names
        # one id (issue: first_calls.py lost every call of a function named after another).
        table = NameTable(lambda code: True)
        written = {}
        table.on_new = lambda name_id, name, cat: written.setdefault(name_id, []).append(name)
        given = []
        barrier = threading.Barrier(8)

        def give(thread):
            barrier.wait()
            for k in range(3000):
                name = "f%d_%d" % (thread, k)
                given.append((table.c_name_id(name), name))

        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            threads = [threading.Thread(target=give, args=(n,)) for n in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            sys.setswitchinterval(interval)
        self.assertEqual(len({name_id for name_id, _ in given}), 8 * 3000)
        for name_id, name in given:
            self.assertEqual(table.names[name_id], (name, "c"))
            self.assertEqual(written[name_id], [name])


if __name__ == "__main__":
    unittest.main()
