/**
 * The native core (py/_tracer/_native.c) against the Python cores, its reference: the same fixture
 * programs traced by both give the same calls (names, nesting, counts, thread and process). Then
 * native-only stress runs (threads, forks, 10 M calls) and the fallback to the Python core.
 * Needs `deno task build:native` (`.ci/run` runs it); without libraries these tests are skipped.
 * @module
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { FIXTURES, pythonMatrix, runCli, runCommand, type RunOutput, tempDir } from "./helpers.ts";
import { convertRawFile } from "../lib/raw/convert.ts";
import { eventNumbers, openRawTrace, RecordKind } from "../lib/raw/records.ts";
import { writeShim } from "../lib/run/shim.ts";
import { nativeLibs, PLATFORM } from "../lib/run/native.ts";
import { type CoreChoice, defaultRecording, type ShimConfig } from "../lib/run/shim_config.ts";
import type { TraceEvent } from "../lib/trace_event.ts";

const NATIVE = join(FIXTURES, "native");
const SHIM_FIXTURES = join(FIXTURES, "shim");
const MATRIX = pythonMatrix();
const LIBS = await nativeLibs();
const BUILT = LIBS !== null && LIBS.platform === PLATFORM ? Object.keys(LIBS.libs) : [];
if (BUILT.length === 0) {
  console.error("native_test: no native libraries (run deno task build:native): tests skipped");
}
const tag = (version: string) => `cp${version.replace(".", "")}`;

/** The shim with the native libraries, written once for the whole file (as the CLI does). */
const SHIM = await Deno.makeTempDir({ prefix: "tracer_native_shim_" });
await writeShim(SHIM);
globalThis.addEventListener("unload", () => Deno.removeSync(SHIM, { recursive: true }));

/** One converted per-process file. */
interface TraceFile {
  otherData: Record<string, unknown>;
  events: TraceEvent[];
  tracerEnd: Record<string, unknown>;
}

interface Traced extends RunOutput {
  /** Per process file: its header, X events (M events too) and end record. */
  files: TraceFile[];
}

interface RunSpec {
  script: string;
  /**
   * 3.8-3.11 only, where the Python core's profile function is Python code: a signal handler runs
   * inside it (unrecorded) and a fork child loses os.fork's return. Compare only the fixture's own
   * functions there.
   */
  fixtureOnlyBefore312?: boolean;
  args?: string[];
  config?: Partial<ShimConfig>;
  /** The shim dir on PYTHONPATH (default: the one with the native libraries). */
  shim?: string;
  root?: boolean;
}

/** A shim config writing into `outputDir`: everything recorded, unless `changes` says otherwise. */
function shimConfig(outputDir: string, changes: Partial<ShimConfig>): ShimConfig {
  return {
    version: 1,
    run_id: "native-test",
    output_dir: outputDir,
    shim_dir: SHIM,
    ...defaultRecording(),
    tracer_entries: 1_000_000,
    ...changes,
  };
}

/** Runs a fixture under the shim directly with `core`, and parses every file it left. */
async function traced(python: string, core: CoreChoice, spec: RunSpec): Promise<Traced> {
  await using dir = await tempDir();
  const shim = spec.shim ?? SHIM;
  const config = shimConfig(dir.path, { shim_dir: shim, core, ...spec.config });
  const script = resolve(NATIVE, spec.script); // 3.8 names a relative script relatively
  const output = await runCommand([python, script, ...spec.args ?? []], {
    cwd: NATIVE,
    env: {
      PYTHONDONTWRITEBYTECODE: "1",
      PYTHONPATH: shim,
      TRACER_CONFIG: JSON.stringify(config),
      ...(spec.root ? { TRACER_ROOT: "1" } : {}),
    },
  });
  const files = [];
  for (const entry of [...Deno.readDirSync(dir.path)].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!entry.name.endsWith(".raw")) continue;
    const json = join(dir.path, entry.name.replace(/\.raw$/, ".json"));
    await convertRawFile(join(dir.path, entry.name), json);
    const whole = JSON.parse(await Deno.readTextFile(json));
    files.push({
      otherData: whole.otherData,
      events: whole.traceEvents as TraceEvent[],
      tracerEnd: whole.tracerEnd,
    });
  }
  return { ...output, files };
}

const isFixture = (name: string) => name.includes("/fixtures/");

/**
 * The calls of a run as "process | thread | caller path > name [unfinished]" with a count: the
 * fixture's own functions and the calls they make directly (the interpreter's start-up and the
 * imports the shim did first differ between cores and are left out), nested by time.
 */
function callTree(run: Traced, fixtureOnly = false): string[] {
  const counts = new Map<string, number>();
  for (const file of run.files) {
    const meta = file.events.filter((event) => event.ph === "M");
    const threadName = new Map<number, string>();
    let processName = "";
    for (const event of meta) {
      const name = String((event.args as { name: string }).name);
      if (event.name === "thread_name") threadName.set(event.tid as number, name);
      if (event.name === "process_name") processName = name.replace(/\/tmp\/\S+/g, "<tmp>");
    }
    const byThread = new Map<number, TraceEvent[]>();
    for (const event of file.events) {
      if (event.ph !== "X") continue;
      const list = byThread.get(event.tid as number) ?? [];
      list.push(event);
      byThread.set(event.tid as number, list);
    }
    for (const [tid, events] of byThread) {
      events.sort((a, b) =>
        (a.ts as number) - (b.ts as number) || (b.dur as number) - (a.dur as number)
      );
      const stack: { end: number; name: string; kept: boolean; path: string }[] = [];
      for (const event of events) {
        const start = event.ts as number;
        while (stack.length && stack[stack.length - 1].end < start) stack.pop();
        const parent = stack[stack.length - 1];
        const name = String(event.name);
        const kept = isFixture(name) ||
          (!fixtureOnly && parent?.kept === true && isFixture(parent.name));
        const path = kept ? `${parent?.path ?? ""} > ${name}` : parent?.path ?? "";
        stack.push({ end: start + (event.dur as number), name, kept, path });
        if (!kept) continue;
        const unfinished = (event.args as { unfinished?: boolean } | undefined)?.unfinished;
        const key = `${processName} | ${threadName.get(tid)} | ${path}${
          unfinished ? " [unfinished]" : ""
        }`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
  }
  return [...counts].map(([key, count]) => `${count}x ${key}`).sort();
}

/** Traces `spec` with both cores and asserts the same calls, recorded by the cores asked for. */
async function sameCalls(version: string, python: string, spec: RunSpec) {
  const [reference, native] = await Promise.all([
    traced(python, "python", spec),
    traced(python, "native", spec),
  ]);
  assert.equal(native.code, reference.code, `${version}: exit status`);
  assert.equal(native.files.length, reference.files.length, `${version}: files`);
  for (const file of native.files) assert.equal(file.otherData.core, "native");
  for (const file of reference.files) assert.equal(file.otherData.core, "python");
  const ends = (run: Traced) =>
    run.files.map((f) => [f.tracerEnd.exit, f.tracerEnd.dropped_events]);
  assert.deepEqual(ends(native), ends(reference), `${version}: how each process ended`);
  const fixtureOnly = spec.fixtureOnlyBefore312 === true && ["3.8", "3.11"].includes(version);
  const tree = callTree(native, fixtureOnly);
  assert.ok(tree.length > 0, `${version}: fixture calls recorded`);
  assert.deepEqual(tree, callTree(reference, fixtureOnly), `${version}: the same calls`);
}

/** One test per case and Python of the matrix that has a native library. */
function differential(name: string, spec: RunSpec) {
  for (const [version, python] of MATRIX) {
    Deno.test({
      name: `native core = Python core: ${name} (${version})`,
      ignore: !BUILT.includes(tag(version)),
      fn: () => sameCalls(version, python, spec),
    });
  }
}

differential("C calls, recursion, generators, async, exceptions, threads", {
  script: "calls.py",
});
differential("--ignore_c_function", { script: "calls.py", config: { ignore_c_function: true } });
differential("include and exclude files", {
  script: join(SHIM_FIXTURES, "filters.py"),
  config: { include_files: [SHIM_FIXTURES], exclude_files: [join(SHIM_FIXTURES, "lib")] },
});
differential("max depth", {
  script: join(SHIM_FIXTURES, "filters.py"),
  config: { max_stack_depth: 3 },
});
// Far from every call's duration but slow()'s 20 ms sleep, so a loaded machine gives the same.
differential("min duration", {
  script: join(SHIM_FIXTURES, "filters.py"),
  config: { include_files: [SHIM_FIXTURES], min_duration_us: 10_000 },
});
// One thread: the Python cores apply the cap when they write a buffer, so with threads they keep
// the first calls written, where the native core keeps the first calls made.
differential("the cap", {
  script: join(SHIM_FIXTURES, "fib.py"),
  config: { include_files: [SHIM_FIXTURES], tracer_entries: 40 },
});
differential("fork with another thread running", {
  script: "fork_threads.py",
  fixtureOnlyBefore312: true,
});
differential("exec, then os._exit", { script: "ends.py", args: ["exec"] });
differential("SIGTERM", { script: "ends.py", args: ["sigterm"], fixtureOnlyBefore312: true });
differential("sys.exit in nested calls", { script: "ends.py", args: ["exit"] });

/** The C calls made inside the main thread's first c_calls() of calls.py, in the order made. */
function cCallsOfCCalls(run: Traced): string[] {
  const main = run.files[0].events.filter((event) => event.ph === "X" && event.tid === event.pid);
  const outer = main.find((event) => String(event.name).startsWith("c_calls "));
  assert.ok(outer, "c_calls() recorded");
  const start = outer.ts as number, end = start + (outer.dur as number);
  return main
    .filter((event) =>
      event.cat === "c" && (event.ts as number) >= start &&
      (event.ts as number) + (event.dur as number) <= end
    )
    .sort((a, b) => (a.ts as number) - (b.ts as number))
    .map((event) => String(event.name));
}

// 3.12+ fire CALL for every callable: a class, a slot wrapper, a method-wrapper and a partial
// object were recorded as C calls there (and not on 3.8-3.11); a builtin bound to a list
// subclass was named by the subclass on 3.8-3.11 and by list on 3.12+.
Deno.test("C calls: calls.py makes the same ones, with the same names, on every CPython and core", async () => {
  const expected = [
    "builtins.sorted",
    "builtins.len",
    "list.append",
    "str.join",
    "dict.fromkeys",
    "list.append",
  ];
  for (const [version, python] of MATRIX) {
    const cores: CoreChoice[] = BUILT.includes(tag(version)) ? ["python", "native"] : ["python"];
    for (const core of cores) {
      const run = await traced(python, core, { script: "calls.py" });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(cCallsOfCCalls(run), expected, `${version}, ${core} core`);
    }
  }
});

/** Native-only runs: one Python per recording API (3.11: profile hook, 3.12: sys.monitoring). */
function nativeTest(name: string, fn: (version: string, python: string) => Promise<void>) {
  for (const version of ["3.11", "3.12"]) {
    const python = MATRIX.get(version);
    Deno.test({
      name: `native core: ${name} (${version})`,
      ignore: python === undefined || !BUILT.includes(tag(version)),
      fn: () => fn(version, python!),
    });
  }
}

/** Counts the finished calls per thread in a raw file, reading only its records. */
async function countCalls(
  path: string,
): Promise<{ perThread: Map<number, number>; end: string; open: number }> {
  using raw = await openRawTrace(path);
  const perThread = new Map<number, number>();
  for await (const record of raw.records()) {
    if (record.kind === RecordKind.events) {
      const numbers = eventNumbers(record.payload); // tid, count, then the slots
      perThread.set(numbers[0], (perThread.get(numbers[0]) ?? 0) + numbers[1]);
    }
  }
  const open = raw.stacks.reduce((sum, stack) => sum + stack.starts.length, 0);
  return { perThread, end: raw.endText ?? "", open };
}

nativeTest("64 threads x 200k calls, every call kept", async (_version, python) => {
  await using dir = await tempDir();
  const config = shimConfig(dir.path, {
    run_id: "native-stress",
    ignore_c_function: true,
    include_files: [NATIVE],
    tracer_entries: 20_000_000,
    core: "native",
  });
  const output = await runCommand([python, "stress.py", "threads", "64", "200000"], {
    cwd: NATIVE,
    env: { PYTHONPATH: SHIM, TRACER_CONFIG: JSON.stringify(config) },
  });
  assert.equal(output.code, 0, output.stderr);
  const [name] = [...Deno.readDirSync(dir.path)].map((entry) => entry.name);
  const { perThread, end, open } = await countCalls(join(dir.path, name));
  const busy = [...perThread.values()].filter((count) => count >= 200_000);
  assert.equal(busy.length, 64, "64 threads with every call");
  for (const count of busy) assert.equal(count, 200_000 + 1); // the leaf calls and their loop
  const tracerEnd = JSON.parse(end);
  assert.equal(tracerEnd.dropped_events, 0);
  assert.equal(open, 0, "no call left open");
});

nativeTest("200 fork children, each with its own calls only", async (_version, python) => {
  const run = await traced(python, "native", {
    script: "stress.py",
    args: ["forks", "200"],
    config: { include_files: [NATIVE] },
  });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.files.length, 201);
  const names = (file: TraceFile) =>
    file.events.filter((e) => e.ph === "X").map((e) => String(e.name).split(" ")[0]).sort();
  const children = run.files.filter((file) => file.otherData.parent_file !== undefined);
  assert.equal(children.length, 200);
  for (const child of children) {
    // Open at the fork: <module> (unfinished, it _exits) and os.fork; then child, leaf; no
    // parent events.
    assert.deepEqual(names(child), ["<module>", "child", "leaf", "posix.fork"]);
    assert.equal(child.tracerEnd.exit, "os._exit");
  }
});

nativeTest("10 M calls with bounded memory", async (_version, python) => {
  const run = await traced(python, "native", {
    script: "stress.py",
    args: ["calls", "10000000"],
    config: { include_files: [NATIVE], tracer_entries: 1_000_000 },
  });
  assert.equal(run.code, 0, run.stderr);
  const growth = Number(/rss growth kib (\d+)/.exec(run.stdout)?.[1]);
  assert.ok(growth < 20_000, `RSS grew by ${growth} KiB over 10 M calls`);
  const [file] = run.files;
  assert.equal(file.tracerEnd.events, 1_000_000);
  const calls = (file.tracerEnd.events as number) + (file.tracerEnd.dropped_events as number);
  assert.ok(calls >= 10_100_000 && calls < 10_100_020, `${calls} calls counted`);
});

nativeTest(
  "SIGKILL keeps every call finished before, and the open ones",
  async (_version, python) => {
    const run = await traced(python, "native", { script: join(SHIM_FIXTURES, "sigkill.py") });
    assert.equal(run.signal, "SIGKILL");
    const [file] = run.files;
    assert.equal(file.tracerEnd.exit, "killed");
    const fibs = file.events.filter((e) => String(e.name).startsWith("fib ")).length;
    assert.equal(fibs, 92_735, "every call of fib(23)");
    const open = file.events.filter((e) => e.args?.unfinished).map((e) =>
      String(e.name).split(" (")[0]
    );
    assert.deepEqual(open, ["<module>", "posix.kill"], "the calls open at the kill");
  },
);

// --- the fallback -------------------------------------------------------------------------------

/** A copy of the shim whose library for `version` is the one of another CPython (or missing). */
async function brokenShim(version: string, replacement: string | null): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tracer_native_broken_" });
  await writeShim(dir);
  const lib = join(dir, "_tracer", "native", `${tag(version)}.so`);
  await Deno.remove(lib);
  if (replacement !== null) {
    await Deno.copyFile(join(dir, "_tracer", "native", `${replacement}.so`), lib);
  }
  return dir;
}

for (const [version, replacement] of [["3.12", "cp311"], ["3.11", null]] as const) {
  const python = MATRIX.get(version);
  const what = replacement ? `a library built for ${replacement}` : "no library";
  Deno.test({
    name: `fallback: ${what} gives the Python core and one line (${version})`,
    ignore: python === undefined || !BUILT.includes(tag(version)) ||
      (replacement !== null && !BUILT.includes(replacement)),
    async fn() {
      const shim = await brokenShim(version, replacement);
      try {
        const spec = { script: join(SHIM_FIXTURES, "nesting.py"), shim, root: true };
        const root = await traced(python!, "auto", spec);
        assert.equal(root.code, 0);
        const line = replacement
          ? new RegExp(
            `^tracer: recording with the Python core: the native core for CPython ` +
              `${version} did not load \\(.*\\)\\n$`,
          )
          : new RegExp(
            `^tracer: recording with the Python core: no native core for CPython ` +
              `${version} on this platform\\n$`,
          );
        assert.match(root.stderr, line);
        assert.equal(root.files[0].otherData.core, "python");
        assert.match(String(root.files[0].otherData.core_note), /native core/);
        // Not the root (a child process): silent, the file says it.
        const child = await traced(python!, "auto", { ...spec, root: false });
        assert.equal(child.stderr, "");
        const forced = await traced(python!, "python", spec);
        assert.equal(forced.stderr, "");
        assert.equal(forced.files[0].otherData.core_note, undefined);
      } finally {
        await Deno.remove(shim, { recursive: true });
      }
    },
  });
}

/*
 * Free-threaded CPython: none can be had here, so each of the two refusals is run on its own. The
 * shim's (core.py reads `sys.abiflags`) with a GIL build that says it is free-threaded; the
 * library's (`Py_GIL_DISABLED`) with a library compiled as for one, loaded where the shim would.
 */
Deno.test({
  name: "free-threaded: core.py refuses the native core when sys.abiflags says so",
  async fn() {
    const code = "import sys; sys.abiflags += 't'; from _tracer.core import load_native; " +
      "module, note = load_native(); print(module, note)";
    await Promise.all([...MATRIX].map(async ([version, python]) => {
      const run = await runCommand([python, "-c", code], { env: { PYTHONPATH: SHIM } });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, `None no native core for free-threaded CPython ${version}\n`);
    }));
  },
});

Deno.test({
  name: "free-threaded: a library built with Py_GIL_DISABLED refuses to load, in one line",
  ignore: !MATRIX.has("3.13") || !BUILT.includes("cp313"),
  async fn() {
    const shim = await brokenShim("3.13", null);
    try {
      const python = MATRIX.get("3.13")!;
      const include = (await runCommand([
        python,
        "-c",
        "import sysconfig; print(sysconfig.get_paths()['include'])",
      ])).stdout.trim();
      const lib = join(shim, "_tracer", "native", "cp313.so");
      const source = join(resolve(FIXTURES, "..", ".."), "py", "_tracer", "_native.c");
      const cc = await runCommand([
        "cc",
        "-O0",
        "-fPIC",
        "-shared",
        "-pthread",
        "-DPy_GIL_DISABLED",
        "-I",
        include,
        source,
        "-o",
        lib,
      ]);
      assert.equal(cc.code, 0, cc.stderr);
      // Lazy binding: the free-threaded headers' inline functions name symbols a GIL build
      // lacks, never called before the refusal.
      const code = "import os, sys; sys.setdlopenflags(os.RTLD_LAZY); " +
        "from _tracer.core import load_native; module, note = load_native(); print(module, note)";
      const run = await runCommand([python, "-c", code], { env: { PYTHONPATH: shim } });
      assert.equal(
        run.stdout,
        "None the native core for CPython 3.13 did not load " +
          "(the native core needs a CPython with the GIL)\n",
        run.stderr,
      );
    } finally {
      await Deno.remove(shim, { recursive: true });
    }
  },
});

Deno.test({
  name: "TRACER_DEBUG=1 says which core records; --core reaches the shim through the CLI",
  ignore: BUILT.length === 0,
  async fn() {
    const [version, python] = [...MATRIX].find(([v]) => BUILT.includes(tag(v))) ?? [];
    await using dir = await tempDir();
    const script = join(SHIM_FIXTURES, "nesting.py");
    for (const core of ["native", "python"] as const) {
      const out = join(dir.path, core);
      const run = await runCli([
        "-q",
        "--core",
        core,
        "--python",
        python!,
        "--pid_suffix",
        "--output_dir",
        out,
        script,
      ], { env: { TRACER_DEBUG: "1" } });
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(`^tracer\\[\\d+\\]: recording with the ${core} core`, "m"),
      );
      const [file] = [...Deno.readDirSync(out)].map((entry) => join(out, entry.name));
      const otherData = (JSON.parse(await Deno.readTextFile(file)) as TraceFile).otherData;
      assert.equal(otherData.core, core, `${version}: otherData.core`);
    }
  },
});

nativeTest("a thread already running when tracing starts is recorded", async (version, python) => {
  await using dir = await tempDir();
  const config = shimConfig(dir.path, {
    run_id: "native-late",
    include_files: [NATIVE],
    tracer_entries: 1000,
    core: "native",
  });
  const output = await runCommand([python, join(NATIVE, "late_start.py")], {
    env: { PYTHONPATH: SHIM, LATE_CONFIG: JSON.stringify(config) },
  });
  assert.equal(output.code, 0, output.stderr);
  const [name] = [...Deno.readDirSync(dir.path)].map((entry) => entry.name);
  const json = join(dir.path, "t.json");
  await convertRawFile(join(dir.path, name), json);
  const events = JSON.parse(await Deno.readTextFile(json)).traceEvents as TraceEvent[];
  const early = events.find((e) => e.ph === "M" && (e.args as { name: string }).name === "early");
  assert.ok(early, `${version}: the early thread has a name`);
  const works = events.filter((e) => String(e.name).startsWith("work "));
  assert.equal(works.length, 2, `${version}: work() in both threads`);
  assert.equal(works.filter((e) => e.tid === early.tid).length, 1);
});

// --- signals the main thread cannot take at once ------------------------------------------------

/** The combined trace of a CLI run with the native core: its events and each file's end. */
async function tracedByCli(python: string, args: string[]) {
  await using dir = await tempDir();
  const out = join(dir.path, "t.json");
  const run = await runCli(["--python", python, "--core", "native", "-o", out, ...args]);
  const trace = JSON.parse(await Deno.readTextFile(out)) as {
    traceEvents: TraceEvent[];
    otherData: { sources: { otherData: { pid: number }; tracerEnd: { exit: string } }[] };
  };
  return { ...run, events: trace.traceEvents, sources: trace.otherData.sources };
}

for (const [version, python] of MATRIX) {
  const script = join(NATIVE, "term_while_blocked.py");
  Deno.test({
    name:
      `native core: a SIGTERM taken by another thread still ends a main thread blocked in read (${version})`,
    ignore: !BUILT.includes(tag(version)),
    async fn() {
      // Before the re-sending timer, the Python handler never ran: the fixture's watchdog
      // SIGKILLed the process 20 s later.
      const run = await tracedByCli(python, [script, "blocked"]);
      assert.equal(run.code, 128 + 15, run.stderr);
      assert.equal(run.stdout, "reading\n");
      assert.deepEqual(run.sources.map((source) => source.tracerEnd.exit), ["signal:SIGTERM"]);
      const works = run.events.filter((e) => e.ph === "X" && String(e.name).startsWith("work "));
      assert.equal(works.length, 100, "the whole trace was written");
    },
  });
  Deno.test({
    name: `native core: a SIGTERM to a main thread busy in C for hours ends it (${version})`,
    ignore: !BUILT.includes(tag(version)),
    async fn() {
      // The default action after the grace second, as untraced; before, the sum ran on until
      // the watchdog's SIGKILL.
      const run = await tracedByCli(python, [script, "busy"]);
      assert.equal(run.code, 128 + 15, run.stderr);
      assert.equal(run.stdout, "summing\n");
      assert.match(run.stderr, /ended without its end record/, "the sum's process is cut short");
      // its trace is kept all the same, the sum open at the end (the fork child _exits)
      assert.deepEqual(run.sources.map((source) => source.tracerEnd.exit), ["killed", "os._exit"]);
      const open = run.events.filter((e) =>
        e.args?.unfinished && e.pid === run.sources[0].otherData.pid
      )
        .map((e) => String(e.name).split(" (")[0]);
      assert.ok(open.includes("builtins.sum"), `open at the end: ${open}`);
    },
  });
}

// --- the clock -----------------------------------------------------------------------------------

for (const [version, python] of MATRIX) {
  Deno.test({
    name: `native core: call starts keep to perf_counter_ns over seconds (TSC or not) (${version})`,
    ignore: !BUILT.includes(tag(version)),
    async fn() {
      await using dir = await tempDir();
      const marksFile = join(dir.path, "marks.json");
      const run = await tracedByCli(python, [join(NATIVE, "clock.py"), marksFile]);
      assert.equal(run.code, 0, run.stderr);
      const marks = JSON.parse(await Deno.readTextFile(marksFile)) as number[];
      const starts = run.events.filter((e) => e.ph === "X" && String(e.name).startsWith("tick "))
        .map((e) => Number(e.ts)).sort((a, b) => a - b);
      assert.equal(starts.length, 300);
      // How far each tick's perf_counter_ns() is past its recorded start, in µs: a few µs, more
      // where a flush or the scheduler came in between. The first ticks are stamped with the
      // system clock, later ones through the TSC mapping (x86-64 Linux): their typical gaps must
      // agree. (A slope off by 1% would part them by ~250 µs: each flush interval's new anchor
      // takes the drift back to 0.)
      const gaps = marks.map((mark, i) => mark / 1000 - starts[i]);
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
      const early = median(gaps.slice(0, 5));
      const late = median(gaps.slice(200));
      assert.ok(Math.abs(late - early) < 100, `typical gap early ${early} µs, late ${late} µs`);
    },
  });
}
