/**
 * VizTracer's in-program features (issue 22), run through the CLI on CPython 3.8, 3.11, 3.13
 * and the newest of the matrix, with both cores: arguments and return values of calls
 * (`--log_func_args`, `--log_func_retval`), exceptions (`--log_exception`, 3.12+), asyncio task
 * rows (`--log_async`), gc passes (`--log_gc`) and the `tracer_api` module (instants, counters,
 * spans), each asserted by its events; a process killed inside a span and a call with arguments;
 * the API under the filters and the cap; and the API outside tracer.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  atLeast,
  FIXTURES,
  FULL_MATRIX,
  pythonMatrix,
  readJson,
  runCli,
  runCommand,
  tempDir,
} from "./helpers.ts";
import { nativeLibs, PLATFORM } from "../lib/run/native.ts";
import type { TraceEvent } from "../lib/trace_event.ts";

const DIR = join(FIXTURES, "parity");
const NEWEST = FULL_MATRIX.at(-1)!;
const MATRIX = pythonMatrix(["3.8", "3.11", "3.13", NEWEST]);
const LIBS = await nativeLibs();
const BUILT = LIBS !== null && LIBS.platform === PLATFORM ? Object.keys(LIBS.libs) : [];
const ALL_LOGS = ["--log_func_args", "--log_func_retval", "--log_exception", "--log_async"];
const TASK_TID_BASE = 2 ** 30;

/** The cores a version is tested with: the native one only where it is built. */
function coresOf(version: string): string[] {
  return BUILT.includes(`cp${version.replace(".", "")}`) ? ["python", "native"] : ["python"];
}

interface Traced {
  code: number;
  stdout: string;
  stderr: string;
  events: TraceEvent[];
  otherData: Record<string, unknown>;
}

async function trace(python: string, args: string[]): Promise<Traced> {
  await using dir = await tempDir();
  const out = join(dir.path, "out.json");
  const run = await runCli(["--python", python, "-q", "-o", out, ...args]);
  const trace = (await readJson(out).catch(() => ({ traceEvents: [] }))) as {
    traceEvents: TraceEvent[];
    otherData: Record<string, unknown>;
  };
  return { ...run, events: trace.traceEvents, otherData: trace.otherData ?? {} };
}

/** The X events of the fixtures' function `name` (3.8-3.10 name code without its class). */
function calls(events: TraceEvent[], name: string): TraceEvent[] {
  return events.filter((e) => e.ph === "X" && String(e.name).startsWith(`${name} (${DIR}`));
}

function within(inner: TraceEvent, outer: TraceEvent): boolean {
  return inner.tid === outer.tid && inner.ts! >= outer.ts! &&
    inner.ts! + (inner.dur ?? 0) <= outer.ts! + outer.dur!;
}

for (const [version, python] of MATRIX) {
  for (const core of coresOf(version)) {
    Deno.test(`in-program features on ${version}, ${core} core`, async () => {
      const run = await trace(python, [
        "--core",
        core,
        ...ALL_LOGS,
        "--log_gc",
        join(DIR, "program.py"),
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "enabled True\n");
      const events = run.events;
      const pid = events.find((e) => e.ph === "X")!.pid;
      const main = pid; // the main thread's tid is the pid

      // Arguments and return values, by parameter name, as repr text.
      const helpers = calls(events, "helper").map((e) => e.args);
      assert.deepEqual(helpers, [
        { func_args: { obj: "Point(x=1, y='a')", n: "2" }, return_value: "3" },
        {
          func_args: { obj: "<__main__.BadRepr: repr raised ValueError>", n: "3" },
          return_value: "4",
        },
        {
          func_args: { obj: "<__main__.SelfRepr: repr raised RecursionError>", n: "4" },
          return_value: "5",
        },
        { func_args: { obj: "<__main__.Locked: repr did not return>", n: "1" }, return_value: "2" },
      ]);
      const adds = calls(events, "add");
      assert.deepEqual(adds[0].args, {
        func_args: { a: "1", b: "2", rest: "(3,)", k: "'x'", kw: "{'z': [1, 2, {'a': (...)}]}" },
        return_value: "3",
      });
      const long = (adds[1].args!.func_args as Record<string, string>).a;
      assert.equal(long.length, 256);
      assert.ok(long.startsWith("'sss") && long.endsWith("..."), long);
      const work = calls(events, atLeast(version, "3.11") ? "Locked.work" : "work")[0];
      assert.ok(within(calls(events, "helper")[3], work), "helper runs inside Locked.work");
      const fails = calls(events, "fails")[0];
      assert.deepEqual(fails.args!.func_args, {});
      if (core === "python" && !atLeast(version, "3.12")) {
        assert.equal(fails.args!.return_value, "None"); // setprofile's "return" after a raise
      } else {
        assert.equal(fails.args!.return_value, undefined, "a call that raised returns nothing");
      }

      // Exceptions: 3.12+ only, an instant inside the call that raised.
      const raised = events.filter((e) => e.cat === "exception");
      if (atLeast(version, "3.12")) {
        const keyError = raised.find((e) => e.name === "KeyError" && within(e, fails));
        assert.ok(keyError, "KeyError instant inside fails()");
        assert.deepEqual(keyError.args, { type: "KeyError", message: "'missing'" });
        assert.equal(keyError.ph, "i");
        assert.equal(keyError.tid, main);
      } else {
        assert.equal(raised.length, 0);
        assert.match(run.stderr, /--log_exception needs CPython 3\.12 or later/);
      }

      // gc.collect(): a gc slice of generation 2 on the main thread.
      const gcs = events.filter((e) => e.name === "gc" && e.cat === "gc");
      const full = gcs.find((e) => e.args!.generation === 2);
      assert.ok(full, "a generation 2 pass");
      assert.equal(full.tid, main);
      assert.equal(typeof full.args!.collected, "number");
      assert.equal(full.args!.uncollectable, 0);

      // The API: an instant, a counter (numbers only), spans around a call.
      const mark = events.find((e) => e.name === "mark")!;
      assert.deepEqual([mark.ph, mark.cat, mark.tid, mark.args], [
        "i",
        "instant",
        main,
        { step: 3, point: "Point(x=2, y='b')" },
      ]);
      const queue = events.find((e) => e.ph === "C" && e.name === "queue")!;
      assert.deepEqual(queue.args, { depth: 5, busy: 1 });
      const spans = events.filter((e) => e.cat === "span" || (e.ph === "E" && e.tid === main));
      assert.deepEqual(spans.map((e) => [e.ph, e.name ?? null]), [
        ["B", "block"],
        ["B", "decorated"],
        ["E", null],
        ["E", null],
      ]);
      assert.deepEqual([spans[0].args, spans[1].args], [{ n: 1 }, { kind: "d" }]);
      const decorated = calls(events, "decorated")[0];
      assert.ok(spans[1].ts! <= decorated.ts! && decorated.ts! + decorated.dur! <= spans[2].ts!);

      // asyncio: a row per task, sorted right after the loop's thread, with the task's steps.
      const meta = (name: string) => events.filter((e) => e.ph === "M" && e.name === name);
      const taskNames = new Map(
        meta("thread_name").filter((e) => Number(e.tid) >= TASK_TID_BASE).map((
          e,
        ) => [e.tid, e.args!.name]),
      );
      assert.deepEqual([...taskNames.values()].slice(0, 3), ["Task-1", "Task-2", "Task-3"]);
      const sortIndex = new Map(meta("thread_sort_index").map((e) => [e.tid, e.args!.sort_index]));
      const loopIndex = sortIndex.get(main) as number;
      assert.ok(loopIndex > 0, "the loop's thread has its place");
      for (const tid of taskNames.keys()) {
        const index = sortIndex.get(tid) as number;
        assert.ok(index > loopIndex && index < loopIndex + 1002, `task row ${tid} after the loop`);
      }
      const steps = events.filter((e) => e.cat === "asyncio");
      const fetchSteps = steps.filter((e) => e.name === "fetch");
      assert.deepEqual(
        [...new Set(fetchSteps.map((e) => taskNames.get(e.tid)))].sort(),
        ["Task-2", "Task-3"],
      );
      assert.ok(fetchSteps.length >= 4, "two steps per fetch task (before and after the sleep)");
      for (const step of fetchSteps) assert.equal(step.args!.task, taskNames.get(step.tid));
      assert.ok(steps.some((e) => e.name === "gather" && taskNames.get(e.tid) === "Task-1"));
    });
  }
}

const [oneVersion, onePython] = [...MATRIX].at(-1)!;

for (const core of coresOf(oneVersion)) {
  Deno.test(`SIGKILL inside a span and a call with arguments (${oneVersion}, ${core})`, async () => {
    const run = await trace(onePython, [
      "--core",
      core,
      "--log_func_args",
      join(DIR, "killed.py"),
    ]);
    assert.equal(run.code, 137, run.stderr);
    const stuck = calls(run.events, "stuck")[0];
    assert.deepEqual(stuck.args, {
      func_args: { label: "'last words'", count: "7" },
      unfinished: true,
    });
    const spans = run.events.filter((e) => e.ph === "B" || e.ph === "E");
    assert.deepEqual(spans.map((e) => [e.ph, e.name ?? null, e.args]), [
      ["B", "outer", {}],
      ["B", "inner", { label: "last words" }],
      ["E", null, { unfinished: true }],
      ["E", null, { unfinished: true }],
    ]);
    // The inner span closes first, inside the call it opened in; the outer one after the call.
    assert.ok(spans[2].ts! <= stuck.ts! + stuck.dur! && stuck.ts! + stuck.dur! <= spans[3].ts!);
  });
}

Deno.test("--log_async: loops in two threads past the cap: one row per task, then one more per loop", async () => {
  for (const core of coresOf(oneVersion)) {
    const run = await trace(onePython, ["--core", core, "--log_async", join(DIR, "two_loops.py")]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "two loops done\n");
    const named = run.events.filter((e) =>
      e.ph === "M" && e.name === "thread_name" && Number(e.tid) >= TASK_TID_BASE
    );
    const rows = new Map<number, string[]>();
    for (const e of named) {
      const tid = Number(e.tid);
      rows.set(tid, [...rows.get(tid) ?? [], String(e.args!.name)]);
    }
    // Rows named from both threads at once each got a tid of their own.
    for (const [tid, names] of rows) assert.equal(names.length, 1, `row ${tid}: ${names}`);
    const names = [...rows.values()].map((n) => n[0]);
    assert.equal(names.filter((n) => n === "other tasks").length, 2, `${core}: one per loop`);
    assert.equal(new Set(names.filter((n) => n.startsWith("Task-"))).size, 1000, core);
    const steps = run.events.filter((e) => e.cat === "asyncio" && e.name === "step");
    const rowOf = (e: TraceEvent) => rows.get(Number(e.tid))![0];
    const onTaskRows = steps.filter((e) => rowOf(e) !== "other tasks");
    assert.ok(onTaskRows.length > 0 && onTaskRows.length < steps.length, core);
    for (const e of onTaskRows) assert.equal(e.args!.task, rowOf(e), core);
  }
});

Deno.test("the API's events go through the filters and the event cap", async () => {
  const filtered = await trace(onePython, [
    "--exclude_files",
    join(DIR, "lib"),
    join(DIR, "filtered.py"),
    "3",
  ]);
  assert.equal(filtered.code, 0, filtered.stderr);
  const names = filtered.events.filter((e) => e.ph === "i").map((e) => e.name);
  assert.deepEqual(names, ["loud", "loud", "loud"]);

  // The events written whole have a cap of their own (the file cannot recycle them, as it does
  // calls): the first 10,000 instants are kept, the rest dropped; the calls are capped apart.
  const capped = await trace(onePython, [
    "--tracer_entries",
    "10000",
    join(DIR, "filtered.py"),
    "20000",
  ]);
  assert.equal(capped.code, 0, capped.stderr);
  const instants = capped.events.filter((e) => e.ph === "i" && e.name === "loud");
  const calls = capped.events.filter((e) => e.ph === "X").length;
  assert.ok(instants.length > 9900 && instants.length <= 10000, `${instants.length} instants`);
  assert.equal(
    Math.max(...instants.map((e) => Number(e.args!.i))),
    instants.length - 1,
    "the first ones",
  );
  assert.ok(calls <= 10000, `${calls} calls`);
  assert.match(capped.stderr, /dropped/, capped.stderr);
});

Deno.test("tracer_api outside tracer: --write_api writes it once, every call does nothing", async () => {
  await using dir = await tempDir();
  const wrote = await runCli(["--write_api", dir.path]);
  assert.equal(wrote.code, 0, wrote.stderr);
  const again = await runCli(["--write_api", dir.path]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /^tracer: cannot write .*tracer_api\.py: it exists/);
  assert.equal(again.stderr.trim().split("\n").length, 1);
  for (const [version, python] of MATRIX) {
    const run = await runCommand([python, join(DIR, "untraced.py")], {
      env: { PYTHONPATH: dir.path },
    });
    assert.equal(run.code, 0, `${version}: ${run.stderr}`);
    const [enabled, cost] = run.stdout.trim().split("\n");
    assert.equal(enabled, "enabled False");
    // A no-op call costs well under a microsecond (about 100 ns, timeit's lambda included).
    assert.ok(Number(cost.split(" ").at(-1)) < 1000, `${version}: ${cost}`);
  }
});

Deno.test("what a program hands tracer_api never raises into it: names by their repr's rules", async () => {
  const run = await trace(onePython, ["--log_gc", join(DIR, "hostile_api.py")]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "ran on 7 True\n");
  const placeholder = "<__main__.BadStr: repr raised RuntimeError>";
  const own = run.events.filter((e) => ["instant", "counter", "span"].includes(String(e.cat)));
  assert.deepEqual(own.map((e) => [e.ph, e.name, e.args]), [
    ["i", placeholder, { value: placeholder }],
    ["C", placeholder, { v: 1 }],
    ["B", placeholder, { arg: placeholder }],
    ["B", placeholder, {}],
  ]);
  assert.equal(run.events.filter((e) => e.ph === "E").length, 2);
});
