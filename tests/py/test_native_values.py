"""The native core's values mode (--log_func_args, --log_func_retval): when it calls the session's
`values` object (start, finish), with what, and what reaches the events blocks; and admit().

Needs the native library built for this CPython (`deno task build:native` writes
build/native/cp<XY>.so); without it every test here is skipped, saying so.

Each recording runs in a thread of its own: a thread's record (its stack of open calls) lives as
long as the thread, and the library's state lives as long as the process, so a fresh thread starts
at depth 0 whatever the tests before left open. The name table is shared by every test (the core
caches name ids per code object for the process's life, as a fork child's writer takes its
parent's table over); each test's writer names every id first.
"""

import os
import shutil
import sys
import tempfile
import unittest
import weakref

from _tracer.names import NameTable
from _tracer.threads import ThreadRegistry
from _tracer.writer import TraceWriter
from rawread import Trace
from support import config, fork, record_in_thread

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MONITORING = sys.version_info >= (3, 12)
NAMES = NameTable(lambda code: not code.co_name.startswith("excluded"))

_native = []  # [(module or None, why not)]


def native_or_skip(case):
    """The native library built for this CPython, loaded once; skips `case` without it."""
    if not _native:
        _native.append(_load_native())
    module, reason = _native[0]
    if module is None:
        case.skipTest(reason)
    return module


def _load_native():
    version = "%d.%d" % sys.version_info[:2]
    if sys.implementation.name != "cpython" or "t" in getattr(sys, "abiflags", ""):
        return None, "the native core needs CPython with the GIL"
    path = os.path.join(ROOT, "build", "native", "cp%d%d.so" % sys.version_info[:2])
    if not os.path.exists(path):
        return None, "no native core built for CPython %s (%s): run deno task build:native" % (
            version, path)
    from importlib.machinery import ExtensionFileLoader, ModuleSpec

    loader = ExtensionFileLoader("_tracer._native", path)
    module = loader.create_module(ModuleSpec("_tracer._native", loader, origin=path))
    loader.exec_module(module)
    return module, None


# --- the program recorded ------------------------------------------------------------------------

def leaf(x):
    return x * 2


def middle(x):
    return leaf(x) + len([x])  # len: a C call


def gen(n):
    for i in range(n):
        yield i


def boom():
    raise ValueError("boom")


def excluded_helper():  # the name table's filter leaves it out
    return 0


def outer():
    total = middle(3)  # 7
    for value in gen(2):
        total += value  # 8
    try:
        boom()
    except ValueError:
        pass
    return total + excluded_helper()


# --- the values object ---------------------------------------------------------------------------

class Token:
    __slots__ = ("n", "__weakref__")


class Start:
    __slots__ = ("code", "tid", "depth", "name_id", "x", "n")


class FakeValues:
    """Logs every call the core makes; finish() says "written" for the name ids in `written`."""

    def __init__(self, written=(), start_raises=(), finish_raises=()):
        self.NO_VALUE = object()
        self.written = set(written)
        self.start_raises = set(start_raises)
        self.finish_raises = set(finish_raises)
        self.starts = []  # Start
        self.finishes = []  # (tid, start, duration, name_id, token n, retval)
        self.tokens = []  # weak references to every token given

    def start(self, frame, tid, depth, name_id):
        if name_id in self.start_raises:
            raise RuntimeError("start fails")
        start = Start()
        start.code, start.tid, start.depth, start.name_id = frame.f_code, tid, depth, name_id
        start.x = frame.f_locals.get("x")  # the call's own frame: its arguments are bound
        start.n = len(self.starts)
        self.starts.append(start)
        token = Token()
        token.n = start.n
        self.tokens.append(weakref.ref(token))
        return token

    def finish(self, tid, start, duration, name_id, token, retval):
        self.finishes.append((tid, start, duration, name_id, token.n, retval))
        if name_id in self.finish_raises:
            raise RuntimeError("finish fails")
        return name_id in self.written


# --- the tests -----------------------------------------------------------------------------------

WORKLOAD = (leaf, middle, gen, boom, outer)


class NativeValuesCase(unittest.TestCase):
    config_values = {}

    def setUp(self):
        self.native = native_or_skip(self)
        from _tracer.core_native import NativeCore

        self.NativeCore = NativeCore
        self.folder = tempfile.mkdtemp(prefix="tracer-py-test-")
        self.addCleanup(shutil.rmtree, self.folder)
        self.config = config(self.folder, **self.config_values)
        self.ids = {function: NAMES.code_id(function.__code__) for function in WORKLOAD}
        self.ids[len] = NAMES.c_function_id(len)
        self.ids[excluded_helper] = NAMES.code_id(excluded_helper.__code__)
        self.by_id = {name_id: function for function, name_id in self.ids.items()}

    def new_writer(self):
        writer = TraceWriter(self.config, os.getpid(), NAMES)
        writer.write_header({"pid": os.getpid()})
        return writer

    def record(self, values, function=outer):
        """Runs `function` recorded by a NativeCore (values mode with `values`) in a new thread:
        (its tid, what it returned, the file's Trace, the core)."""
        writer = self.new_writer()
        self.registry = registry = ThreadRegistry()
        registry.writer = writer
        self.core = core = self.NativeCore(registry, self.config, self.native, NAMES,
                                           values=values)
        tid, result = record_in_thread(core, function)
        with open(os.path.join(self.folder, writer.file_name), "rb") as file:
            trace = Trace(file.read())
        return tid, result, trace, core

    def workload_starts(self, values):
        """[(function, depth)] of the start() calls for the workload's code."""
        codes = {function.__code__: function for function in WORKLOAD + (excluded_helper,)}
        return [(codes[start.code], start.depth) for start in values.starts if start.code in codes]

    def workload_events(self, trace, tid):
        """[(function, start, duration)] of the thread's stored calls of the workload."""
        return [(self.by_id[name_id], start, duration)
                for start, duration, name_id in trace.events.get(tid, [])
                if name_id in self.by_id]

    def expected_starts(self, depths):
        """The start() calls of outer(): 3.8-3.11 report a generator's every resume as a call."""
        gen_starts = 1 if MONITORING else 3
        starts = [(outer, 0), (middle, 1), (leaf, 2)] + [(gen, 1)] * gen_starts + [(boom, 1)]
        return [(function, depth) for function, depth in starts if depth < depths]

    def assertTokensReleased(self, values):
        alive = [ref().n for ref in values.tokens if ref() is not None]
        self.assertEqual(alive, [], "tokens still held")


class ValuesTest(NativeValuesCase):
    def test_start_and_finish_of_every_recorded_python_call(self):
        values = FakeValues(written={self.ids[leaf], self.ids[boom]})
        tid, result, trace, _ = self.record(values)
        self.assertEqual(result, 8)
        # start(): once per recorded Python call (none for the C call len(), none for excluded
        # code), in the callee's own frame, with the slot it takes and its name id
        self.assertEqual(self.workload_starts(values), self.expected_starts(1 << 30))
        for start in values.starts:
            self.assertEqual(start.tid, tid)
            self.assertEqual(start.name_id, NAMES.code_id(start.code))
            self.assertEqual(trace.names[start.name_id][1], "py")
        by_n = {start.n: start for start in values.starts}
        self.assertEqual([by_n[n].x for n in range(len(by_n)) if by_n[n].code is leaf.__code__],
                         [3])
        # finish(): once per call that got a token, with what it returned or yielded
        retvals = {}
        for tid_, start_ns, duration, name_id, n, retval in values.finishes:
            self.assertEqual(tid_, tid)
            self.assertEqual(name_id, by_n[n].name_id)
            self.assertGreaterEqual(duration, 0)
            if name_id in self.by_id:
                retvals.setdefault(self.by_id[name_id], []).append(retval)
        self.assertEqual(retvals[outer], [8])
        self.assertEqual(retvals[middle], [7])
        self.assertEqual(retvals[leaf], [6])
        self.assertEqual(retvals[gen], [0] if MONITORING else [0, 1, None])
        self.assertEqual(len(retvals[boom]), 1)
        self.assertIs(retvals[boom][0], values.NO_VALUE)
        self.assertNotIn(len, retvals)
        # the events blocks: the calls finish() wrote are not there, every other one is, with
        # the start and duration finish() was given
        events = self.workload_events(trace, tid)
        self.assertEqual([function for function, _, _ in events],
                         [len, middle, gen, gen, gen, outer])
        stored = {(start, duration) for _, start, duration in events}
        for _, start_ns, duration, name_id, _, _ in values.finishes:
            if self.by_id.get(name_id) in (middle, gen, outer):
                self.assertIn((start_ns, duration), stored)
        self.assertTokensReleased(values)

    def test_without_values_the_same_calls_are_stored(self):
        tid, result, trace, _ = self.record(None)
        self.assertEqual(result, 8)
        plain = [function for function, _, _ in self.workload_events(trace, tid)]
        self.assertEqual(plain, [leaf, len, middle, gen, gen, gen, boom, outer])
        values = FakeValues()  # writes nothing: every call is stored as without values
        tid, _, trace, _ = self.record(values)
        self.assertEqual([function for function, _, _ in self.workload_events(trace, tid)], plain)
        self.assertTokensReleased(values)

    def test_errors_of_the_values_object_are_taken_as_none(self):
        values = FakeValues(written={self.ids[middle]}, start_raises={self.ids[leaf]},
                            finish_raises={self.ids[middle]})
        tid, result, trace, _ = self.record(values)
        self.assertEqual(result, 8)  # the program sees none of it
        self.assertNotIn(leaf, [function for function, _ in self.workload_starts(values)])
        finished = [self.by_id.get(name_id) for _, _, _, name_id, _, _ in values.finishes]
        self.assertNotIn(leaf, finished)  # no token, no finish()
        self.assertIn(middle, finished)
        # leaf (no token) and middle (finish() failed: not written) are stored
        self.assertEqual([function for function, _, _ in self.workload_events(trace, tid)],
                         [leaf, len, middle, gen, gen, gen, boom, outer])
        self.assertTokensReleased(values)

    def test_a_generator_expression_starts_once_per_call_event(self):
        def squares():
            return sum(i * i for i in range(3))

        values = FakeValues()
        tid, result, _, _ = self.record(values, squares)
        self.assertEqual(result, 5)
        genexpr = [start for start in values.starts if start.code.co_name == "<genexpr>"]
        self.assertEqual(len(genexpr), 1 if MONITORING else 4)  # 3 values, then the end
        self.assertTokensReleased(values)


class LifeCycleTest(NativeValuesCase):
    """Tokens are released where their slots go (stop), and kept where they stay (resume, fork)."""

    def finished(self, values, function):
        return [retval for _, _, _, name_id, _, retval in values.finishes
                if name_id == self.ids.get(function)]

    def test_stop_releases_the_tokens_of_open_calls(self):
        values = FakeValues()
        seen = {}

        def stopping():
            self.core.stop()
            seen["alive"] = [ref() for ref in values.tokens if ref() is not None]
            seen["starts"] = len(values.starts)
            return leaf(1)  # not recorded

        def holding():
            return stopping()

        self.ids[holding] = NAMES.code_id(holding.__code__)
        self.ids[stopping] = NAMES.code_id(stopping.__code__)
        _, result, _, _ = self.record(values, holding)
        self.assertEqual(result, 2)
        self.assertEqual([start.code for start in values.starts],
                         [holding.__code__, stopping.__code__, self.NativeCore.stop.__code__])
        self.assertEqual(seen, {"alive": [], "starts": len(values.starts)})
        self.assertEqual(values.finishes, [])  # nothing called after stop()

    def test_resume_keeps_the_tokens_of_open_calls(self):
        values = FakeValues()
        second = []

        def moving():
            second.append(self.new_writer())
            self.registry.writer = second[0]
            self.native.resume()  # the open calls move to the new file, tokens and all
            return "moved"

        self.ids[moving] = NAMES.code_id(moving.__code__)
        self.by_id[self.ids[moving]] = moving
        tid, result, _, _ = self.record(values, moving)
        self.assertEqual(result, "moved")
        self.assertEqual(self.finished(values, moving), ["moved"])
        with open(os.path.join(self.folder, second[0].file_name), "rb") as file:
            trace = Trace(file.read())
        (start,) = [start for start in values.starts if start.code is moving.__code__]
        (_, start_ns, duration, _, _, _) = [f for f in values.finishes if f[4] == start.n][0]
        self.assertIn((moving, start_ns, duration), self.workload_events(trace, tid))
        self.assertTokensReleased(values)

    @unittest.skipUnless(hasattr(os, "fork"), "no os.fork")
    def test_a_fork_child_keeps_the_tokens_of_its_open_calls(self):
        values = FakeValues()
        read_end, write_end = os.pipe()
        self.addCleanup(os.close, read_end)

        def forking():
            self.core.before_fork()
            pid = fork()
            if pid == 0:
                status = 1
                try:
                    self.registry.writer = self.new_writer()
                    self.core.after_fork(0)
                    mine = [start.n for start in values.starts if start.code is forking.__code__]
                    alive = {ref().n for ref in values.tokens if ref() is not None}
                    leaf(5)
                    ok = set(mine) <= alive and self.finished(values, leaf) == [10]
                    os.write(write_end, b"ok" if ok else repr((mine, alive)).encode())
                    status = 0
                finally:
                    os._exit(status)
            os.close(write_end)
            self.core.after_fork_in_parent()
            _, status = os.waitpid(pid, 0)
            return status

        self.ids[forking] = NAMES.code_id(forking.__code__)
        _, status, _, _ = self.record(values, forking)
        with os.fdopen(read_end, "rb", closefd=False) as pipe:
            said = pipe.read()
        self.assertEqual((status, said), (0, b"ok"))
        self.assertEqual(self.finished(values, forking), [0])
        self.assertTokensReleased(values)


class DepthTest(NativeValuesCase):
    config_values = {"max_stack_depth": 2}

    def test_too_deep_calls_get_no_start(self):
        values = FakeValues()
        tid, result, trace, _ = self.record(values)
        self.assertEqual(result, 8)
        self.assertEqual(self.workload_starts(values), self.expected_starts(2))
        finished = {self.by_id.get(name_id) for _, _, _, name_id, _, _ in values.finishes}
        self.assertNotIn(leaf, finished)
        self.assertEqual([function for function, _, _ in self.workload_events(trace, tid)],
                         [middle, gen, gen, gen, boom, outer])
        self.assertTokensReleased(values)


class MinDurationTest(NativeValuesCase):
    config_values = {"min_duration_us": 60_000_000}  # a minute: no call is that long

    def test_short_calls_get_no_finish_and_their_tokens_go(self):
        values = FakeValues()
        tid, _, trace, _ = self.record(values)
        self.assertEqual(len(self.workload_starts(values)), len(self.expected_starts(1 << 30)))
        self.assertEqual(values.finishes, [])
        self.assertEqual(self.workload_events(trace, tid), [])
        self.assertTokensReleased(values)


class CapTest(NativeValuesCase):
    config_values = {"tracer_entries": 3}

    def test_calls_past_the_cap_are_recorded_and_only_admit_counts(self):
        # The writer and the reader cap calls (cap_ring.py, lib/raw/cap.ts); admit() caps the
        # events written whole.
        values = FakeValues()
        tid, _, trace, core = self.record(values)
        self.assertEqual(self.workload_starts(values), self.expected_starts(1 << 30))
        self.assertEqual(core.counts(), (0, 3))
        self.assertEqual([core.admit() for _ in range(4)], [True, True, True, False])
        self.assertEqual(core.counts(), (1, 3))
        self.assertTokensReleased(values)

    def test_admit_counts_events_under_the_cap(self):
        writer = self.new_writer()
        registry = ThreadRegistry()
        registry.writer = writer
        core = self.NativeCore(registry, self.config, self.native, NAMES)
        self.assertEqual([core.admit() for _ in range(5)], [True, True, True, False, False])
        self.assertEqual(core.counts(), (2, 0))


if __name__ == "__main__":
    unittest.main()
