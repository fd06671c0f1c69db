import time
import unittest

from _tracer.c_names import CFunctionNames


class MyList(list):
    pass


class Hashless:
    __hash__ = None

    def __eq__(self, other):
        raise AssertionError("no user code may run while naming")


class CNamesTest(unittest.TestCase):
    def test_names_as_every_core_records_them(self):
        names = CFunctionNames()
        self.assertEqual(names.name(len), "builtins.len")
        self.assertEqual(names.name(time.sleep), "time.sleep")
        self.assertEqual(names.name([].append), "list.append")
        self.assertEqual(names.name(MyList().append), "list.append")  # the defining class
        self.assertEqual(names.name(list.append), "list.append")  # a method descriptor
        self.assertEqual(names.name(dict.fromkeys), "dict.fromkeys")  # a classmethod
        self.assertEqual(names.name(",".join), "str.join")

    def test_no_instance_is_kept_alive_and_no_user_code_runs(self):
        import weakref

        class Box(list):
            pass

        box = Box()
        ref = weakref.ref(box)
        names = CFunctionNames()
        self.assertEqual(names.name(box.append), "list.append")
        del box
        self.assertIsNone(ref())
        holder = Hashless()
        self.assertEqual(names.name(holder.__dir__), "object.__dir__")


if __name__ == "__main__":
    unittest.main()
