"""values.py: a value's text never runs the program's code it should not, and never reaches it."""

import threading
import unittest

from _tracer import values
from _tracer.values import VALUE_LIMIT, text_of


class Slots:
    pass


class Raises:
    def __repr__(self):
        raise RuntimeError("no")


class Recurses:
    def __repr__(self):
        return repr(self)


class NotText:
    def __repr__(self):
        return 42


class Blocks:
    """Its repr waits for a lock its caller holds."""

    lock = threading.Lock()

    def __repr__(self):
        with self.lock:
            return "Blocks()"


class Counted:
    calls = 0

    def __repr__(self):
        Counted.calls += 1
        return "Counted()"


class TestTextOf(unittest.TestCase):
    def test_builtins_are_rendered_without_their_repr(self):
        self.assertEqual(text_of(1), "1")
        self.assertEqual(text_of(None), "None")
        self.assertEqual(text_of("a'b"), repr("a'b"))
        self.assertEqual(text_of(b"\x00"), "b'\\x00'")
        self.assertEqual(text_of((1,)), "(1,)")
        self.assertEqual(text_of({1: [2, {3}]}), "{1: [2, {3}]}")
        self.assertEqual(text_of(frozenset()), "frozenset({})")

    def test_long_and_deep_values_are_cut(self):
        self.assertEqual(len(text_of("x" * 10_000)), VALUE_LIMIT)
        self.assertTrue(text_of("x" * 10_000).endswith("..."))
        self.assertEqual(len(text_of(list(range(100_000)))), VALUE_LIMIT)
        self.assertEqual(text_of([[[[1]]]]), "[[[[...]]]]")
        self.assertEqual(text_of(10 ** 10_000), "<int of 33220 bits>")
        loop = []
        loop.append(loop)
        self.assertEqual(text_of(loop), "[[[[...]]]]")

    def test_the_default_repr_is_made_here(self):
        obj = Slots()
        self.assertEqual(text_of(obj), "<%s.Slots object at %#x>" % (__name__, id(obj)))

    def test_a_repr_that_fails_gives_a_placeholder(self):
        self.assertEqual(text_of(Raises()), "<%s.Raises: repr raised RuntimeError>" % __name__)
        self.assertEqual(text_of(Recurses()),
                         "<%s.Recurses: repr raised RecursionError>" % __name__)
        self.assertEqual(text_of(NotText()), "<%s.NotText: repr returned int>" % __name__)
        self.assertEqual(text_of(Counted()), "Counted()")

    def test_a_repr_that_blocks_times_out_and_is_not_run_again(self):
        with Blocks.lock:
            self.assertEqual(text_of(Blocks()), "<%s.Blocks: repr did not return>" % __name__)
        # Once the lock is free the repr thread finishes; the type stays silenced.
        self.assertEqual(text_of(Blocks()), "<%s.Blocks: repr did not return>" % __name__)
        self.assertEqual(text_of(Counted()), "Counted()")  # the thread serves the others again

    def test_the_values_reprd_die_in_the_callers_thread(self):
        """A value's finalizer runs where its last reference goes: never in the repr thread, where
        it could wait for a lock the caller holds (importlib's module locks do: their weakref
        callbacks take the import lock)."""
        lock = threading.RLock()
        died_in = []

        class Dies:
            def __repr__(self):
                return "Dies()"

            def __del__(self):
                with lock:
                    died_in.append(threading.get_ident())

        with lock:
            value = Dies()
            self.assertEqual(text_of(value), "Dies()")
            del value
            self.assertEqual(text_of(Counted()), "Counted()")
            self.assertEqual(text_of(Counted()), "Counted()")
        self.assertEqual(died_in, [threading.get_ident()])

    def test_the_repr_thread_is_stopped_for_a_fork(self):
        text_of(Counted())
        values.stop_idle_thread()
        self.assertEqual(values._reprs._pid, 0)
        self.assertEqual(text_of(Counted()), "Counted()")  # started again on demand


if __name__ == "__main__":
    unittest.main()
