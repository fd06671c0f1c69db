import {
  deepStrictEqual as assertEquals,
  ok as assert,
  rejects as assertRejects,
} from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { combineFiles, expandInputs, PID_MAP_KEPT } from "./combine.ts";
import type { SourceRecord } from "../trace_metadata.ts";
import { UsageError } from "../errors.ts";
import type { TraceEvent } from "../trace_event.ts";

const DIR = fileURLToPath(new URL("../../tests/fixtures/combine/", import.meta.url));
const INPUTS = ["run2", "run1", "viztracer.json", "chrome_export.json", "truncated.json"];

async function collect(events: AsyncIterable<TraceEvent[]>): Promise<TraceEvent[]> {
  const out: TraceEvent[] = [];
  for await (const batch of events) out.push(...batch);
  return out;
}

async function textEvents(chunks: AsyncIterable<Uint8Array>): Promise<TraceEvent[]> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of chunks) text += decoder.decode(chunk);
  return JSON.parse(`[${text}]`);
}

Deno.test("combineFiles: parsed events and the JSON text path agree event for event", async () => {
  const paths = await expandInputs(INPUTS.map((name) => join(DIR, name)));
  const parsed = await combineFiles(paths);
  const objects = await collect(parsed.events);
  const text = await combineFiles(paths);
  const fromText = await textEvents(text.eventText());
  assertEquals(fromText, objects);
  assertEquals(parsed.stats, text.stats);
  assertEquals(parsed.stats.events, objects.length);
  assertEquals(parsed.stats.salvagedFiles, 1);
  assertEquals(parsed.stats.droppedEvents, 5);
  assertEquals(parsed.warnings.map((warning) => warning.source), [join(DIR, "truncated.json")]);
});

Deno.test("combineFiles: run-stage warnings are carried into warnings and metadata", async () => {
  const warning = { source: "pid 42", message: "started with python -I: not traced" };
  const trace = await combineFiles([join(DIR, "viztracer.json")], { warnings: [warning] });
  assertEquals(trace.warnings, [warning]);
  assertEquals(trace.metadata.warnings, [warning]);
  await collect(trace.events);
  assertEquals(trace.stats.events, 4);
});

Deno.test("combineFiles: a trace iterates only once", async () => {
  const trace = await combineFiles([join(DIR, "viztracer.json")]);
  await collect(trace.events);
  await assertRejects(async () => await collect(trace.events), /only once/);
});

Deno.test("expandInputs: directories list their traces in process order, duplicates go", async () => {
  const paths = await expandInputs([join(DIR, "run1"), join(DIR, "run1", "result_101.json")]);
  assertEquals(
    paths,
    ["result_100.json", "result_100_1.json", "result_101.json"].map((name) =>
      join(DIR, "run1", name)
    ),
  );
  await assertRejects(expandInputs([join(DIR, "missing.json")]), UsageError);
});

Deno.test("combineFiles: a file the run stage completed after a kill counts as salvaged", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "result_7.json");
    await Deno.writeTextFile(
      path,
      '{"otherData":{"tracer_version":1,"pid":7,"host":"h","boot_id":"b",' +
        '"clock":{"epoch_ns":2000,"mono_ns":1000}},"traceEvents":[\n' +
        '{"ph":"X","pid":7,"tid":7,"ts":10,"dur":1,"name":"f","cat":"py"}\n' +
        '],"tracerEnd":{"first_ts":10,"exit":"killed","events":1,"truncated_bytes":12}}\n',
    );
    const trace = await combineFiles([path]);
    assertEquals(await collect(trace.events), [
      { ph: "X", pid: 7, tid: 7, ts: 0, dur: 1, name: "f", cat: "py" },
    ]);
    assertEquals(trace.stats.salvagedFiles, 1);
    assertEquals(trace.stats.threads, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("combineFiles: random events agree on both paths, in any layout", async () => {
  let seed = 99;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const alphabet = ['"', "\\", "]", "}", ",", ":", "ü", "\n", "x", " ", "\u2028"];
  const text = () =>
    Array.from(
      { length: Math.floor(random() * 10) },
      () => alphabet[Math.floor(random() * alphabet.length)],
    ).join("");
  const dir = await Deno.makeTempDir();
  try {
    const paths: string[] = [];
    for (let file = 0; file < 3; file++) {
      const events = Array.from({ length: 200 }, (_, i) => ({
        name: text(),
        ph: random() < 0.1 ? "M" : "X",
        ts: Math.round(random() * 1e12) / 1000,
        pid: i % 2 === 0 ? 5 : "p" + text(),
        tid: i % 4,
        args: { [text()]: text() },
      }));
      const path = join(dir, `f${file}.json`);
      // One line, pretty-printed, one event per line.
      const body = file === 0
        ? JSON.stringify({ traceEvents: events })
        : file === 1
        ? JSON.stringify({ traceEvents: events }, null, 2)
        : `{"traceEvents":[\n${events.map((event) => JSON.stringify(event)).join(",\n")}\n]}`;
      await Deno.writeTextFile(path, body);
      paths.push(path);
    }
    for (const align of [false, true]) {
      const objects = await collect((await combineFiles(paths, { align })).events);
      const fromText = await textEvents((await combineFiles(paths, { align })).eventText());
      assertEquals(fromText, objects);
      const labels = objects.filter((event) => event.name === "process_labels");
      assertEquals(objects.length - labels.length, 600);
      // Colliding pids of the later files (5 and several string pids) were moved and labelled.
      assert(labels.length >= 2);
      assert(labels.every((label) => typeof label.pid === "number" && label.pid > 4_194_304));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("combineFiles: the JSON text path writes no surrogate escape, quote or not", async () => {
  // As Python's json.dumps writes it (ASCII only): Perfetto v52 cannot load `\"` with `\ud83d`.
  const events = [
    String.raw`{"ph":"X","pid":1,"tid":1,"ts":0,"dur":10,"name":"x\"y \ud83d\udd25"}`,
    String.raw`{"ph":"X","pid":1,"tid":1,"ts":20,"dur":10,"name":"caf\udce9.py \\ud800"}`,
    String.raw`{"ph":"X","pid":1,"tid":1,"ts":40,"dur":10,"name":"plain \u00e9"}`,
  ];
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "python.json");
    await Deno.writeTextFile(path, `{"traceEvents":[\n${events.join(",\n")}\n]}\n`);
    const trace = await combineFiles([path]);
    let text = "";
    for await (const chunk of trace.eventText()) text += new TextDecoder().decode(chunk);
    assert(!/\\u[dD][89a-fA-F]/.test(text.replaceAll("\\\\", "")), text);
    assertEquals(
      JSON.parse(`[${text}]`).map((event: TraceEvent) => event.name),
      ['x"y \u{1f525}', String.raw`caf\xe9.py \ud800`, "plain é"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Writes a trace of `pids` distinct processes, one event each, into `dir`; returns its path. */
async function manyPids(dir: string, name: string, pids: number): Promise<string> {
  const lines = Array.from(
    { length: pids },
    (_, pid) => `{"ph":"X","pid":${pid + 1},"tid":${pid + 1},"ts":${pid},"dur":1,"name":"f"}`,
  );
  const path = join(dir, name);
  await Deno.writeTextFile(path, `{"traceEvents":[\n${lines.join(",\n")}\n]}\n`);
  return path;
}

/**
 * Runs `work` while a 5 ms timer ticks; returns the longest time (ms) between two ticks: how long
 * a signal's listener, which also needs a turn of the event loop, would have waited.
 */
async function longestWait(work: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(longest, performance.now() - last);
}

Deno.test("combineFiles with a stop signal: the event loop runs every few ms, even with 2 x 100,000 colliding pids", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Two files of the same pids: every pid of the second is remapped and labelled.
    const paths = [await manyPids(dir, "a.json", 100_000), await manyPids(dir, "b.json", 100_000)];
    const stop = new AbortController().signal;
    let events = 0;
    const text = await longestWait(async () => {
      const trace = await combineFiles(paths, { stop });
      for await (const _ of trace.eventText()) { /* counted by the trace */ }
      events = trace.stats.events;
    });
    assertEquals(events, 300_000, "200,000 events and 100,000 process_labels");
    const objects = await longestWait(async () => {
      const trace = await combineFiles(paths, { stop });
      for await (const _ of trace.events) { /* counted by the trace */ }
      assertEquals(trace.stats.processes, 200_000);
    });
    // Turns come every 50 ms; the bound leaves room for a slow machine's pauses. The pids were
    // once Sets of strings, built and copied with no turn: 2 s without one here.
    assert(text < 700 && objects < 700, `${Math.round(text)} / ${Math.round(objects)} ms`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("combineFiles: a file of 1,500 colliding pids keeps a pid_map of 1,000, and labels all 1,500", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const paths = [await manyPids(dir, "a.json", 1500), await manyPids(dir, "b.json", 1500)];
    const trace = await combineFiles(paths);
    const labels = (await collect(trace.events)).filter((e) => e.name === "process_labels");
    assertEquals(labels.length, 1500);
    assertEquals(labels[0], {
      ph: "M",
      pid: 4_194_305,
      name: "process_labels",
      args: { labels: "pid 1 from b.json" },
    });
    const [first, second] = trace.metadata.sources as SourceRecord[];
    assertEquals(first.pid_map, undefined);
    assertEquals(Object.keys(second.pid_map!).length, PID_MAP_KEPT);
    assertEquals(second.pid_map!["1000"], 4_194_305 + 999);
    assertEquals(second.pid_map_left_out, 500);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
