import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { gunzipSync, gzipSync } from "node:zlib";
import { join } from "node:path";
import { FIXTURES, readJson, ROOT, runCli, runCommand, tempDir } from "./helpers.ts";
import type { TraceEvent } from "../lib/trace_event.ts";

const DIR = join(FIXTURES, "combine");

interface Combined {
  traceEvents: TraceEvent[];
  otherData: {
    tracer_combine: number;
    sources: Record<string, unknown>[];
    file_info?: { files: Record<string, unknown>; functions: Record<string, unknown> };
    warnings?: { source?: string; message: string }[];
  };
}

async function combine(args: string[], out: string) {
  const result = await runCli(["--combine", ...args, "-o", out], { cwd: DIR });
  return result;
}

function byName(trace: Combined, name: string): TraceEvent {
  const found = trace.traceEvents.find((event) => event.name === name);
  assert(found, `no event named ${name}`);
  return found;
}

Deno.test("combine: one run's files keep their pids, share the monotonic clock, exec stays one process", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "run1.json");
  const result = await combine(["run1"], out);
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stderr, /2 processes, 3 threads, 13 events \(5 dropped\)/);
  const trace = await readJson(out) as Combined;
  assertEquals(byName(trace, "main (/app/a.py:1)").ts, 0);
  assertEquals(byName(trace, 'say "hi" <b>&amp;</b> (/app/a.py:9)').ts, 9.75);
  assertEquals(byName(trace, "child (/app/a.py:20)").ts, 19.5);
  assertEquals(byName(trace, "after_exec (/app/b.py:3)").ts, 199_949.5);
  assertEquals(byName(trace, "after_exec (/app/b.py:3)").pid, 100);
  assertEquals(new Set(trace.traceEvents.map((event) => event.pid)), new Set([100, 101]));
  assert(!trace.traceEvents.some((event) => event.name === "process_labels"));
  assertEquals(trace.otherData.sources.map((source) => source.file), [
    "run1/result_100.json",
    "run1/result_100_1.json",
    "run1/result_101.json",
  ]);
  assertEquals(
    (trace.otherData.sources[0].tracerEnd as { dropped_events: number }).dropped_events,
    3,
  );
});

Deno.test("combine: files from two hosts are placed by wall clock and a reused pid is kept apart", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "both.json");
  const result = await combine(["run2/result_100.json", "run1"], out);
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stderr, /3 processes, 4 threads/);
  const trace = await readJson(out) as Combined;
  // h1: wall = ts + 1_699_999_995_000_000; h2: wall = ts + 1_699_999_991_500_000 (microseconds).
  const first = byName(trace, "main (/app/a.py:1)");
  const other = byName(trace, "main (/srv/c.py:1)");
  assertEquals(first.ts, 0);
  assertEquals(other.ts, 499_899.5);
  // run2 came first, so it keeps pid 100; run1's process 100 (and its exec successor) moves.
  assertEquals(other.pid, 100);
  assert(typeof first.pid === "number" && first.pid > 4_194_304);
  assertEquals(byName(trace, "after_exec (/app/b.py:3)").pid, first.pid);
  assertEquals(byName(trace, "child (/app/a.py:20)").pid, 101);
  // Two hosts: every process names its host; the moved one its original pid and file too.
  const labels = trace.traceEvents.filter((event) => event.name === "process_labels")
    .map((event) => [event.pid, event.args?.labels]);
  assertEquals(labels, [
    [100, "host h2"],
    [first.pid, "pid 100 from result_100.json on h1"],
    [101, "host h1"],
  ]);
});

Deno.test("combine: VizTracer, Chrome export and gzip inputs keep their events and metadata", async () => {
  await using dir = await tempDir();
  const gz = join(dir.path, "chrome.json.gz");
  await Deno.writeFile(gz, gzipSync(await Deno.readFile(join(DIR, "chrome_export.json"))));
  const out = join(dir.path, "mixed.json.gz");
  const result = await combine(["viztracer.json", gz], out);
  assertEquals(result.code, 0, result.stderr);
  const trace = JSON.parse(new TextDecoder().decode(gunzipSync(await Deno.readFile(out))));
  assertEquals(byName(trace, "f (/tmp/x.py:1)").ts, 0);
  assertEquals(byName(trace, 'Läuft ✓ "quoted" [x]').ts, 6000);
  assertEquals(byName(trace, "instant").ts, 6005);
  // Metadata events keep their own ts.
  assertEquals(byName(trace, "CrBrowserMain").ts, 0);
  assertEquals(trace.otherData.sources[0].viztracer_metadata, {
    version: "1.0.0",
    overflow: false,
  });
  assertEquals(Object.keys(trace.otherData.file_info.files), ["/tmp/x.py"]);
  assertEquals(trace.traceEvents.length, 7);
});

Deno.test("combine: --align_combine starts every file at 0", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "aligned.json");
  const result = await combine(["--align_combine", "viztracer.json", "chrome_export.json"], out);
  assertEquals(result.code, 0, result.stderr);
  const trace = await readJson(out) as Combined;
  assertEquals(byName(trace, "f (/tmp/x.py:1)").ts, 0);
  assertEquals(byName(trace, "builtins.print").ts, 100);
  // The pretty-printed VizTracer events come out one per line like the others.
  const lines = (await Deno.readTextFile(out)).split("\n");
  assertEquals(lines.length, trace.traceEvents.length + 3);
  assertEquals(
    lines.slice(1, -2).map((line) => JSON.parse(line.replace(/,$/, ""))),
    trace.traceEvents,
  );
  assertEquals(byName(trace, 'Läuft ✓ "quoted" [x]').ts, 0);
  assertEquals(byName(trace, "instant").ts, 5);
});

Deno.test("combine: an absurd ts moves no file; it is named, and --strict refuses it", async () => {
  await using dir = await tempDir();
  const good = join(dir.path, "good.json");
  const bad = join(dir.path, "bad.json");
  const x = (pid: number, ts: number, name: string) => ({
    ph: "X",
    pid,
    tid: pid,
    ts,
    dur: 1,
    name,
  });
  await Deno.writeTextFile(good, JSON.stringify([x(1, 1000.5, "a"), x(1, 1003.25, "b")]));
  await Deno.writeTextFile(bad, JSON.stringify([x(2, -1e20, "z")]));
  for (const output of ["two.json", "two.html"]) {
    const result = await runCli(["--combine", good, bad, "-o", join(dir.path, output)]);
    assertEquals(result.code, 0, result.stderr);
    assertMatch(result.stderr, /bad\.json: 1 event has an absurd ts \(-100000000000000000000\)/);
    // the report draws the good file's two events and leaves the absurd one out (it once left
    // out the good ones, moved past what its ticks hold)
    if (output.endsWith(".html")) {
      assertMatch(result.stderr, /the report leaves out 1 event \(1 "X"\)/);
    }
  }
  // The good file's events start the timeline, as they would alone (once: ts -1e20 moved them by 1e20)
  const trace = await readJson(join(dir.path, "two.json")) as Combined;
  assertEquals([byName(trace, "a").ts, byName(trace, "b").ts], [0, 2.75]);
  const strict = await runCli(["--strict", "--combine", good, bad, "-o", join(dir.path, "s.json")]);
  assertEquals(strict.code, 1);
  assertMatch(strict.stderr, /absurd ts/);
});

Deno.test("combine: a pid met in the middle of a file placed from its ends is counted", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "result_100.json");
  const start = { tracer_version: 1, pid: 100, ppid: 1, argv: ["a.py"], host: "h", boot_id: "b" };
  const x = (pid: number, ts: number) =>
    JSON.stringify({ ph: "X", pid, tid: pid, ts, dur: 1, name: "f" });
  await Deno.writeTextFile(
    path,
    `{"otherData":${JSON.stringify(start)},"traceEvents":[\n${x(100, 10)},\n${x(200, 11)},\n` +
      `${x(100, 12)}\n],"tracerEnd":{"first_ts":10,"events":3,"dropped_events":0}}\n`,
  );
  const result = await runCli(["--combine", path, "-o", join(dir.path, "out.json")]);
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stderr, /tracer: 2 processes, 2 threads, 3 events/);
});

Deno.test("combine: malformed events never reach the JSON output; they are counted, --strict refuses them", async () => {
  await using dir = await tempDir();
  const good = '{"ph":"X","pid":1,"tid":1,"ts":1,"dur":2,"name":"a"}';
  const malformed = [
    '{"ph":"X","pid":1,"tid":1,"ts":5,"dur":0..5,"name":"b"}',
    '{"ph":"X","pid":1,"tid":1,"ts":5,"dur":1,"name":"b" "x":1}',
    '{"ph":"X","pid":1,"tid":1,"ts":5,"dur":1,"name":"b",}',
    '{"ph":"X","pid":1,"tid":1,"ts":007,"dur":1,"name":"b"}',
    '{"ph":"X","pid":1,"tid":1,"ts":5,"dur":1,"name":"tab\there"}',
  ];
  const encoder = new TextEncoder();
  // One file per case, tracer's one-event-per-line form and a bare array, plus invalid UTF-8
  // (salvaged: written again with U+FFFD)
  const files: string[] = [];
  for (const [i, bad] of malformed.entries()) {
    const path = join(dir.path, `bad${i}.json`);
    await Deno.writeTextFile(path, `[${good},\n${bad}]`);
    files.push(path);
  }
  const utf8 = join(dir.path, "utf8.json");
  const bytes = encoder.encode(
    `[${good},\n{"ph":"X","pid":1,"tid":1,"ts":5,"dur":1,"name":"c\u00ff"}]`,
  );
  const at = bytes.indexOf(0xc3); // "ÿ" as UTF-8 (c3 bf): make it a lone, invalid byte
  bytes[at] = 0xff;
  bytes.copyWithin(at + 1, at + 2);
  await Deno.writeFile(utf8, bytes.subarray(0, bytes.length - 1));
  for (const path of [...files, utf8]) {
    const out = path.replace(/\.json$/, ".out.json");
    const result = await runCli(["--combine", path, "-o", out]);
    assertEquals(result.code, 0, result.stderr);
    const trace = JSON.parse(await Deno.readTextFile(out)) as Combined; // valid JSON, always
    const names = trace.traceEvents.filter((e) => e.ph === "X").map((e) => e.name);
    if (path === utf8) {
      assertEquals(names, ["a", "c\ufffd"]);
    } else {
      assertEquals(names, ["a"], path);
      assertMatch(result.stderr, /1 event left out: not valid JSON/);
      const strict = await runCli(["--strict", "--combine", path, "-o", `${out}.strict.json`]);
      assertEquals(strict.code, 1, path);
    }
  }
});

Deno.test("combine: damaged inputs are salvaged with one warning each, --strict refuses them", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "salvaged.json");
  const result = await combine(["truncated.json", "garbage.json", "empty.json", "run1"], out);
  assertEquals(result.code, 0, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.slice(0, 3), [
    "tracer: warning: truncated.json: truncated inside an event: kept 2 events, lost the last " +
    "61 bytes (1 incomplete event)",
    "tracer: warning: garbage.json: not JSON trace data (it does not start with '{' or '[')",
    "tracer: warning: empty.json: the file is empty",
  ]);
  assertMatch(lines[3], /3 processes, 4 threads, 15 events/);
  const trace = await readJson(out) as Combined;
  assertEquals(
    trace.traceEvents.filter((event) => event.pid === 300).map((event) => event.name),
    ["kept_one (/app/k.py:1)", "kept_two (/app/k.py:2)"],
  );
  assertEquals(trace.otherData.warnings?.length, 3);

  const strict = await combine(["--strict", "run1", "truncated.json"], join(dir.path, "s.json"));
  assertEquals(strict.code, 1);
  assertEquals(
    strict.stderr.trim(),
    "tracer: truncated.json: truncated inside an event: kept 2 events, lost the last 61 bytes " +
      "(1 incomplete event) (--strict refuses damaged input)",
  );
  assertEquals(await Deno.stat(join(dir.path, "s.json")).catch(() => null), null);
});

Deno.test("combine: nothing readable, or a missing input, fails with one line", async () => {
  await using dir = await tempDir();
  const none = await combine(["garbage.json", "empty.json"], join(dir.path, "x.json"));
  assertEquals(none.code, 1);
  assertEquals(
    none.stderr.trim(),
    "tracer: no events could be read from the 2 input files: garbage.json: not JSON trace data " +
      "(it does not start with '{' or '['); empty.json: the file is empty",
  );
  const missing = await combine(["run1", "nope.json"], join(dir.path, "x.json"));
  assertEquals(missing.code, 2);
  assertEquals(
    missing.stderr.trim(),
    "tracer: input file nope.json does not exist; check the path",
  );
  // 5,000 empty inputs: one short line (it once listed all 5,000, 150 KB of it)
  const empties = [];
  for (let i = 0; i < 5000; i++) {
    const path = join(dir.path, `e${i}.json`);
    await Deno.writeTextFile(path, "");
    empties.push(path);
  }
  const many = await runCli(["--combine", ...empties, "-o", join(dir.path, "x.json")]);
  assertEquals(many.code, 1);
  assertEquals(many.stderr.split("\n").length, 2, "one line");
  assert(many.stderr.length < 1000, many.stderr);
  assertMatch(
    many.stderr,
    /from the 5000 input files: .*e0\.json: the file is empty; .*; 4997 more\n$/,
  );
  const noMatch = await combine(["run1/zz_*.json"], join(dir.path, "x.json"));
  assertEquals(noMatch.code, 2);
  assertEquals(noMatch.stderr.trim(), "tracer: no file matches run1/zz_*.json; check the pattern");
  assertEquals(await Deno.stat(join(dir.path, "x.json")).catch(() => null), null);
});

Deno.test("combine: unexpanded globs expand and a file given twice is read once", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "glob.json");
  const result = await combine(["run1/result_10?.json", "run1/result_100.json"], out);
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stderr, /2 processes, 3 threads, 10 events/);
  const trace = await readJson(out) as Combined;
  assertEquals(trace.otherData.sources.map((source) => source.file), [
    "run1/result_100.json",
    "run1/result_101.json",
  ]);
});

Deno.test("combine: a combined file combines back to the same events and sources", async () => {
  await using dir = await tempDir();
  const once = join(dir.path, "once.json");
  const twice = join(dir.path, "twice.json");
  const first = await combine(["run2", "run1", "viztracer.json", "truncated.json"], once);
  assertEquals(first.code, 0, first.stderr);
  const second = await combine([once], twice);
  assertEquals(second.code, 0, second.stderr);
  // The first combine's warnings travel with its output (item 14), said again, none added.
  const warnings = (stderr: string) =>
    stderr.split("\n").filter((line) => line.includes("warning"));
  assertEquals(warnings(second.stderr), warnings(first.stderr));
  const a = await readJson(once) as Combined;
  const b = await readJson(twice) as Combined;
  assertEquals(b.traceEvents, a.traceEvents);
  assertEquals(b.otherData.sources, a.otherData.sources);
  assertEquals(b.otherData.file_info, a.otherData.file_info);
  assertMatch(first.stderr, /(\d+) processes, (\d+) threads, (\d+) events \(5 dropped\)/);
  assertEquals(
    second.stderr.match(/\d+ processes, \d+ threads, \d+ events \(5 dropped\)/)?.[0],
    first.stderr.match(/\d+ processes, \d+ threads, \d+ events \(5 dropped\)/)?.[0],
  );
});

Deno.test("combine: a tracer file placed by its end metadata still reports damage inside", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "middle.json");
  const result = await combine(["run1/result_100.json", "bad_middle.json"], out);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(
    result.stderr.split("\n")[0],
    "tracer: warning: bad_middle.json: 1 array elements were not valid trace events",
  );
  assertMatch(result.stderr, /2 processes, 3 threads, 10 events/);
  const trace = await readJson(out) as Combined;
  assertEquals(byName(trace, "child (/app/a.py:20)").ts, 19.5);
  assertEquals(byName(trace, "child (/app/a.py:20)").pid, 102);

  const strict = await combine(
    ["--strict", "run1/result_100.json", "bad_middle.json"],
    join(dir.path, "strict.json"),
  );
  assertEquals(strict.code, 1);
  assertEquals(
    strict.stderr.trim(),
    "tracer: bad_middle.json: 1 array elements were not valid trace events " +
      "(--strict refuses damaged input)",
  );
  assertEquals(await Deno.stat(join(dir.path, "strict.json")).catch(() => null), null);
});

/** Writes a trace of `pids` distinct processes (1, 2, ...), one event each; returns its path. */
async function manyPids(dir: string, name: string, pids: number): Promise<string> {
  const lines = Array.from(
    { length: pids },
    (_, i) => `{"ph":"X","pid":${i + 1},"tid":${i + 1},"ts":${i},"dur":1,"name":"f"}`,
  );
  const path = join(dir, name);
  await Deno.writeTextFile(path, `{"traceEvents":[\n${lines.join(",\n")}\n]}\n`);
  return path;
}

Deno.test("combine of 100,000 distinct pids and 50,000 colliding ones fits a 48 MiB V8 heap", async () => {
  await using dir = await tempDir();
  const inputs = [
    await manyPids(dir.path, "a.json", 100_000),
    await manyPids(dir.path, "b.json", 50_000),
  ];
  const out = join(dir.path, "o.json");
  // Strings per pid and per thread (and copies of them) once needed over 100 MiB of heap here;
  // the ids are now numbers in typed arrays, outside the heap.
  const result = await runCommand([
    Deno.execPath(),
    "run",
    "-A",
    "--v8-flags=--max-old-space-size=48",
    join(ROOT, "main.ts"),
    "--combine",
    ...inputs,
    "-o",
    out,
  ]);
  assertEquals(result.code, 0, result.stderr.slice(-2000));
  assertMatch(result.stderr, /tracer: 150,000 processes, 150,000 threads, 200,000 events -> /);
  const trace = await readJson(out) as Combined;
  assertEquals(trace.traceEvents.filter((event) => event.name === "process_labels").length, 50_000);
});
