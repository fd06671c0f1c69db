"""The native core's own values (--log_func_args, --log_func_retval with call_values.CallValues):
the `V` blocks and `O` records it writes hold the same bytes as those CallValues.start and finish
write for the same calls (times aside), and the calls it does not write whole reach the events
blocks as before.

Each workload runs twice under a NativeCore, in a thread of its own: once with the CallValues
object itself (the C core renders and writes the values: `native_values()`), once with the same
object behind a wrapper that hides native_values (the core calls start and finish, the Python
implementation). Needs the native library built for this CPython (see test_native_values.py).
"""

import ast
import json
import os
import re
import shutil
import struct
import tempfile
import threading
import unittest

from _tracer.call_values import CallValues
from _tracer.threads import ThreadRegistry
from _tracer.values import VALUE_LIMIT, prepare, stop_idle_thread, text_of
from _tracer.writer import TraceWriter
from rawread import Trace, records
from support import config, fork, record_in_thread
from test_native_values import NAMES, native_or_skip

_CALL = struct.Struct("<dddI4x")


def no_addresses(data):
    """`data` (bytes) with the addresses of `at 0x...` zeroed."""
    return re.sub(rb"at 0x[0-9a-f]+", lambda m: b"at 0x" + b"0" * (len(m.group()) - 5), data)


class ThroughPython:
    """A CallValues without native_values: the core calls its start and finish."""

    def __init__(self, values):
        self.NO_VALUE = values.NO_VALUE
        self.start = values.start
        self.finish = values.finish


# --- the program recorded ------------------------------------------------------------------------

class Custom:
    """A repr written in Python: the repr thread runs it."""

    def __repr__(self):
        return "Custom('\"\\\n\u00e9\U0001f600')"


class Plain:
    """object's own repr (`<...Plain object at 0x...>`)."""


class Str(str):
    pass


class Int(int):
    pass


SAMPLE_OBJECTS = (Custom(), Plain())  # alive across both runs: the same ids

SCALARS = [
    0, 1, -1, 7, (1 << 62) - 1, -(1 << 62) + 1, 1 << 62, -(1 << 62), 10 ** 40, -(10 ** 300),
    1 << 4000, True, False, None, 0.0, -0.0, 1.5, 1e16, 1e-7, float("inf"), float("nan"),
    3.141592653589793, complex(1, 2), Ellipsis,
    "", "plain", "it's", 'say "hi"', "both ' and \"", "back\\slash", "tab\tnew\nline\rcr",
    "\b\f\x00\x01\x1f\x7f\x80", "caf\u00e9 \u4e2d\u6587", "emoji \U0001f600 \U0010ffff",
    "lone \ud800 surrogate", "x" * 63, "x" * 64, "y" * 200, "z" * 256, "w" * 257, "v" * 258,
    "\U0001f600" * 40, "\x01" * 70, "'" * 100 + '"', "q" * 10_000,
    Str("sub"), Int(5), b"by\x00tes", bytearray(b"ba"), [1, "two", (3.0,)], {"k": [None]},
    {1, 2}, frozenset(), (1,), list(range(1000)), SAMPLE_OBJECTS[0], SAMPLE_OBJECTS[1], len,
]


def echo(value):
    return value


def many(a, b=2, *rest, key=None, **extra):
    return (a, b, rest, key, extra)


def captured(x, y):
    def inner():
        return x

    return inner() + y


def gen(n):
    for i in range(n):
        yield i * 1.5


async def coroutine(x):
    return x


def boom(message):
    raise ValueError(message)


def deep(n, text):
    if n == 0:
        return len(text)
    return deep(n - 1, text) + 1


def scalars():
    for value in SCALARS:
        echo(value)
    many(1)
    many("a", "b", 3, 4.0, key="k", other=None, more=[1])
    captured(1, 2)
    list(gen(3))
    run = coroutine(9)
    try:
        run.send(None)
    except StopIteration:
        pass
    try:
        boom("don't")
    except ValueError:
        pass
    (lambda *args, **kwargs: args)(1, k=2)
    return deep(70, "d" * 30)


WIDE = {}
exec("def wide(%s):\n    return 0\n" % ", ".join("p%d" % i for i in range(100)), WIDE)


def filling():
    """Calls with long values: the values block fills up (16 KiB, then 32 KiB, ...); a call too
    long for the next one gets a block of its size."""
    total = 0
    for i in range(600):
        if i == 3:
            WIDE["wide"](*["\u00e9" * 300] * 100)
        total += len(echo("%d" % i + "\u00e9" * 300))
    return total


# --- the tests -----------------------------------------------------------------------------------

class NativeBlocksCase(unittest.TestCase):
    config_values = {"log_func_args": True, "log_func_retval": True}

    def setUp(self):
        self.native = native_or_skip(self)
        from _tracer.core_native import NativeCore

        self.NativeCore = NativeCore
        prepare()  # as the session does: the repr thread records nothing from its start on
        self.folder = tempfile.mkdtemp(prefix="tracer-py-test-")
        self.addCleanup(shutil.rmtree, self.folder)
        self.config = config(self.folder, **self.config_values)

    def record(self, function, native):
        """Runs `function` under a NativeCore whose values are a CallValues (`native`: recorded by
        the C core, else by CallValues through start and finish) in a new thread: (the file's
        bytes, its tid, what `function` returned)."""
        writer = TraceWriter(self.config, os.getpid(), NAMES)
        writer.write_header({"pid": os.getpid()})
        registry = ThreadRegistry()
        registry.writer = writer
        values = CallValues(registry, NAMES, self.config.log_func_args,
                            self.config.log_func_retval)
        core = self.NativeCore(registry, self.config, self.native, NAMES,
                               values=values if native else ThroughPython(values))
        self.path = os.path.join(self.folder, writer.file_name)
        self.registry, self.core = registry, core
        # The repr thread ends (it starts again when a repr needs it): on 3.9-3.11 a core's start
        # reaches the threads already running, and its own calls would be recorded.
        stop_idle_thread()
        tid, result = record_in_thread(core, function)
        with open(os.path.join(self.folder, writer.file_name), "rb") as file:
            data = file.read()
        return data, tid, result

    def both(self, function):
        """(native run, Python run) of `function`, each as record() gives it."""
        return self.record(function, True), self.record(function, False)

    def value_records(self, data, tid, named=False):
        """The thread's V and O records in file order, times left out: ("V", text size, used,
        [(name id, text)]) and ("O", slots, the slots' bytes). Addresses (`at 0x...`) are
        zeroed: the recorder's own objects (the core stopping) differ from run to run. `named`:
        names for the name ids (of the file's names: a fork child's new ids are its own)."""
        out = []
        data = no_addresses(data)
        names = Trace(data).names if named else {}
        for kind, payload in records(data):
            if kind == "V":
                got_tid, used = struct.unpack_from("<qq", payload)
                if got_tid != tid:
                    continue
                calls = []
                at = 16
                while at < 16 + used:
                    _, _, name_id, length = _CALL.unpack_from(payload, at)
                    text = payload[at + 32:at + 32 + length]
                    padding = payload[at + 32 + length:at + 32 + (length + 7 & ~7)]
                    self.assertEqual(padding, bytes(len(padding)))
                    calls.append((names.get(int(name_id), int(name_id)), text.decode("ascii")))
                    at += 32 + (length + 7 & ~7)
                self.assertEqual(at, 16 + used)
                self.assertEqual(payload[at:], bytes(len(payload) - at))  # the rest untouched
                out.append(("V", len(payload) - 16, used, calls))
            elif kind == "O":
                got_tid, slots = struct.unpack_from("<qq", payload)
                if got_tid == tid and named:
                    heads = [struct.unpack_from("<II", payload, at)
                             for at in range(16, len(payload), 512)]
                    out.append(("O", slots, [(length, names.get(name_id, name_id))
                                             for length, name_id in heads],
                                [payload[16 + i * 512 + 8:16 + (i + 1) * 512]
                                 for i in range(slots)]))
                elif got_tid == tid:
                    out.append(("O", slots, payload[16:]))
        return out

    def stored_calls(self, data, tid):
        """[name id] of the thread's calls in its events blocks."""
        return [name_id for _, _, name_id in Trace(data).events.get(tid, [])]

    def assertSameBlocks(self, function):
        (native, native_tid, native_result), (python, python_tid, python_result) = \
            self.both(function)
        self.assertEqual(native_result, python_result)
        native_blocks = self.value_records(native, native_tid)
        python_blocks = self.value_records(python, python_tid)
        self.assertSameRecords(native_blocks, python_blocks)
        self.assertEqual(self.stored_calls(native, native_tid),
                         self.stored_calls(python, python_tid))
        return native_blocks

    def assertSameRecords(self, mine, theirs):
        """value_records() alike, told briefly where they are not (difflib takes long)."""
        self.assertEqual([record[:2] for record in mine], [record[:2] for record in theirs])
        for one, other in zip(mine, theirs):
            if one[0] == "V":
                self.assertEqual(one, other)
            elif one != other:
                at = next(i for i, (a, b) in enumerate(zip(one[2], other[2])) if a != b)
                self.fail("O records differ at slot %d: %r != %r" % (
                    at // 512, one[2][at - 40:at + 40], other[2][at - 40:at + 40]))

    def calls(self, blocks):
        return [call for block in blocks if block[0] == "V" for call in block[3]]


class SameBytesTest(NativeBlocksCase):
    def test_values_of_every_kind(self):
        blocks = self.assertSameBlocks(scalars)
        texts = [text for _, text in self.calls(blocks)]
        echo_id = NAMES.code_id(echo.__code__)
        echoes = [text for name_id, text in self.calls(blocks) if name_id == echo_id]
        self.assertEqual(len(echoes), len(SCALARS))
        for value, text in zip(SCALARS, echoes):
            args = json.loads(text)
            expected = no_addresses(text_of(value).encode("utf-8", "surrogatepass"))
            expected = expected.decode("utf-8", "surrogatepass")
            self.assertEqual(args["func_args"], {"value": expected})
            if self.config.log_func_retval:
                self.assertEqual(args["return_value"], expected)
            self.assertLessEqual(len(expected), VALUE_LIMIT)
        self.assertIn('{"func_args":{"message":"\\"don\'t\\""}}', texts)  # a raise: no return value
        (custom,) = [text for value, text in zip(SCALARS, echoes) if value is SAMPLE_OBJECTS[0]]
        self.assertEqual(json.loads(custom)["func_args"]["value"], repr(SAMPLE_OBJECTS[0]))
        # the deep recursion outgrew the first O records (16 slots, then 32, 64, 128)
        self.assertEqual([block[1] for block in blocks if block[0] == "O"], [16, 32, 64, 128])

    def test_a_values_block_fills_up(self):
        blocks = self.assertSameBlocks(filling)
        sizes = [block[1] for block in blocks if block[0] == "V"]
        self.assertEqual(sizes[0], 16 << 10)
        self.assertGreater(sizes[1], 64 << 10)  # the wide call's size, more than 2 x 16 KiB
        self.assertEqual(sizes[2], 2 * sizes[1])
        self.assertEqual(sizes[-1], 1 << 20)


class ArgsOnlyTest(SameBytesTest):
    config_values = {"log_func_args": True}


class RetvalOnlyTest(NativeBlocksCase):
    config_values = {"log_func_retval": True}

    def test_values_of_every_kind(self):
        blocks = self.assertSameBlocks(scalars)
        self.assertEqual([block for block in blocks if block[0] == "O"], [])
        self.assertIn((NAMES.code_id(boom.__code__), "{}"), self.calls(blocks))


class MinDurationTest(NativeBlocksCase):
    config_values = {"log_func_args": True, "log_func_retval": True, "min_duration_us": 1e9}

    def test_short_calls_are_written_nowhere(self):
        blocks = self.assertSameBlocks(scalars)
        self.assertEqual(self.calls(blocks), [])


class OpenCallTest(NativeBlocksCase):
    def test_the_slots_of_open_calls_hold_their_arguments(self):
        """The file as a reader finds it while calls are open (a process killed there)."""
        text = "it's \"long\" " * 60
        files = []

        def holding(a, text, *more):
            return probe(a + 1, text)

        def probe(a, text):
            if a < 20:
                return probe(a + 1, text)
            with open(self.path, "rb") as file:
                files.append(file.read())
            return a

        opened = {}
        for native in (True, False):
            del files[:]
            _, tid, result = self.record(lambda: holding(0, text, text, 2.5), native)
            self.assertEqual(result, 20)
            (data,) = files
            opened[native] = (data, tid, [block for block in self.value_records(data, tid)
                                          if block[0] == "O"])
        self.assertEqual(opened[True][2], opened[False][2])
        data, tid, records_ = opened[True]
        self.assertEqual([block[1] for block in records_], [16, 32])
        # the last O record: the slot of each open call's depth names it and holds its args
        slots, payload = records_[-1][1], records_[-1][2]
        found = []
        ids = (NAMES.code_id(holding.__code__), NAMES.code_id(probe.__code__))
        for depth, (_, name_id) in enumerate(Trace(data).open[tid]):
            length, slot_id = struct.unpack_from("<II", payload, depth * 512)
            if name_id in ids and depth < slots and slot_id == name_id:
                found.append((name_id, json.loads(payload[depth * 512 + 8:
                                                          depth * 512 + 8 + length])))
        self.assertEqual(found[0], (NAMES.code_id(holding.__code__),
                                    {"(arguments)": "too long to keep for a call still open"}))
        self.assertEqual(found[1:], [(NAMES.code_id(probe.__code__),
                                      {"a": str(a), "text": text_of(text)})
                                     for a in range(1, 21)])


class ForkTest(NativeBlocksCase):
    @unittest.skipUnless(hasattr(os, "fork"), "no os.fork")
    def test_a_fork_child_writes_into_its_own_file(self):
        """The child's values go into its own file's blocks once its writer is there (none
        before), the parent's into its own, during the fork too."""

        def forking(a):
            read_end, write_end = os.pipe()
            self.core.before_fork()
            echo("in the fork window")
            pid = fork()
            if pid == 0:
                status = 1
                try:
                    os.close(read_end)
                    writer = TraceWriter(self.config, os.getpid(), NAMES)
                    writer.write_header({"pid": os.getpid()})
                    self.registry.writer = writer
                    self.core.after_fork(0)
                    echo("child")
                    deep(20, "child")
                    with open(os.path.join(self.folder, writer.file_name), "rb") as file:
                        data = file.read()
                    said = repr(self.value_records(data, threading.get_native_id(), True))
                    os.write(write_end, said.encode())
                    status = 0
                except BaseException:
                    import traceback

                    os.write(write_end, traceback.format_exc().encode())
                finally:
                    os._exit(status)
            os.close(write_end)
            self.core.after_fork_in_parent()
            echo("parent")
            with os.fdopen(read_end, "rb") as pipe:
                heard["said"] = pipe.read()  # not returned: a return value is recorded
            _, heard["status"] = os.waitpid(pid, 0)
            heard["pid"] = pid
            return status_note

        runs = {}
        heard = {}
        status_note = "forked"
        for native in (True, False):
            data, tid, _ = self.record(lambda: forking(1), native)
            said, status, pid = heard["said"], heard["status"], heard["pid"]
            self.assertEqual(status, 0, said.decode())
            said = re.sub(rb"_%d\.raw" % pid, b"_pid.raw", said)  # the child's file name
            runs[native] = (self.value_records(data, tid, True), said)
        # The parent's calls of this file's functions: what the standard library does around a
        # fork varies from run to run (3.12+ warns of a fork with threads when the repr thread
        # runs, and the warning's machinery is recorded).
        def own(blocks):
            return [call for call in self.calls(blocks) if __file__ in str(call[0])]

        self.assertEqual(own(runs[True][0]), own(runs[False][0]))
        self.assertTrue(own(runs[True][0]))
        children = [ast.literal_eval(runs[native][1].decode()) for native in (True, False)]
        self.assertEqual(own(children[0]), own(children[1]))
        parent, child = runs[True]
        self.assertEqual([text for name, text in self.calls(parent) if name[0].startswith("echo ")],
                         ['{"func_args":{"value":"\'in the fork window\'"},'
                          '"return_value":"\'in the fork window\'"}',
                          '{"func_args":{"value":"\'parent\'"},"return_value":"\'parent\'"}'])
        child = ast.literal_eval(child.decode())
        self.assertEqual([text for name, text in self.calls(child) if name[0].startswith("echo ")],
                         ['{"func_args":{"value":"\'child\'"},"return_value":"\'child\'"}'])
        # the child's own O records: the parent's open calls are not there
        self.assertEqual([record[1] for record in child if record[0] == "O"], [16, 32])


if __name__ == "__main__":
    unittest.main()
