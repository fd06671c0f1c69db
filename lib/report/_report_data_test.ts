import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  type BuilderLimits,
  NAME_LIMIT,
  NAMES_BUDGET,
  REPORT_PROCESSES,
  ReportBuilder,
  TICK_NS,
} from "./_report_data.ts";
import type { TraceEvent, TraceWarning } from "../trace_event.ts";
import { modelFromEvents, singleFileStats, slice } from "./testing.ts";
import { concatBytes } from "../bytes/concat.ts";
import { seededRandom } from "../../tests/helpers.ts";
import { FLAG_UNFINISHED } from "../report_format.ts";
import { inflateBase64 } from "../viewer/model.ts";
import { decodeModel } from "../viewer/model.ts";

const names = (model: ReturnType<typeof modelFromEvents>, trackIndex = 0) => {
  const track = model.tracks[trackIndex];
  return [...track.name].map((id) => model.strings[id]);
};

Deno.test("slices emitted in end order are sorted by start with depth from nesting", () => {
  // Children end before their parent, as the shim writes them.
  const model = modelFromEvents([
    slice("leaf", 2, 1),
    slice("child", 1, 5),
    slice("sibling", 7, 2),
    slice("root", 0, 10),
    slice("next_root", 12, 3),
  ]);
  const track = model.tracks[0];
  assertEquals(names(model), ["root", "child", "leaf", "sibling", "next_root"]);
  assertEquals([...track.depth], [0, 1, 2, 1, 0]);
  assertEquals([...track.parent], [-1, 0, 1, 0, -1]);
  assertEquals([...track.start].map((t) => t * TICK_NS / 1000), [0, 1, 2, 7, 12]);
  assertEquals([...track.dur].map((t) => t * TICK_NS / 1000), [10, 5, 1, 2, 3]);
  // root 10 - child 5 - sibling 2 = 3; child 5 - leaf 1 = 4
  assertEquals([...track.self].map((t) => t * TICK_NS / 1000), [3, 4, 1, 2, 3]);
  assertEquals(track.levels.map((level) => [...level]), [[0, 4], [1, 3], [2]]);
  assertEquals(track.info.maxDepth, 2);
});

Deno.test("equal starts put the longer slice outside", () => {
  const model = modelFromEvents([slice("inner", 5, 1), slice("outer", 5, 4)]);
  assertEquals(names(model), ["outer", "inner"]);
  assertEquals([...model.tracks[0].depth], [0, 1]);
});

Deno.test("B/E pairs become slices; an unclosed B is closed at the track end as unfinished", () => {
  const model = modelFromEvents([
    { ph: "B", name: "outer", ts: 0, pid: 1, tid: 1 },
    { ph: "B", name: "inner", ts: 1, pid: 1, tid: 1 },
    { ph: "E", ts: 3, pid: 1, tid: 1, args: { result: 7 } },
    { ph: "B", name: "open", ts: 4, pid: 1, tid: 1 },
    slice("last", 4.5, 5.5),
  ]);
  const track = model.tracks[0];
  assertEquals(names(model), ["outer", "inner", "open", "last"]);
  assertEquals([...track.depth], [0, 1, 1, 2]);
  const open = 2;
  assertEquals(track.dur[open] * TICK_NS / 1000, 6);
  assert(track.flags[open] & FLAG_UNFINISHED);
  assertEquals(model.strings[track.args.get(1)!], '{"result":7}');
  // The outer B is unfinished too: it was never closed.
  assert(track.flags[0] & FLAG_UNFINISHED);
  assertEquals(model.processes[0].unfinished, 2);
});

Deno.test("metadata names processes and threads; tracks are grouped and ordered", () => {
  const model = modelFromEvents([
    slice("a", 0, 1, { pid: 20, tid: 22 }),
    slice("b", 0, 1, { pid: 10, tid: 10 }),
    slice("c", 0, 1, { pid: 20, tid: 20 }),
    { ph: "M", name: "process_name", pid: 20, args: { name: "python3 worker.py" } },
    { ph: "M", name: "thread_name", pid: 20, tid: 22, args: { name: "pool-1" } },
    { ph: "M", name: "process_labels", pid: 20, args: { labels: "spawn" } },
    {
      ph: "M",
      name: "process_name",
      pid: 10,
      args: { name: "python3 main.py", dropped_events: 5 },
    },
  ]);
  assertEquals(model.processes.map((p) => [p.info.pid, p.info.name, p.info.droppedEvents]), [
    [10, "python3 main.py", 5],
    [20, "python3 worker.py", 0],
  ]);
  assertEquals(model.processes[1].tracks.map((t) => [t.info.tid, t.info.name]), [
    [20, ""],
    [22, "pool-1"],
  ]);
  assertEquals(model.processes[1].info.labels, "spawn");
});

Deno.test("instants, counters and flows survive the round trip, relative to the origin", () => {
  const model = modelFromEvents([
    slice("a", 100, 10),
    { ph: "i", name: "mark", ts: 105, pid: 1, tid: 1, s: "p" },
    { ph: "C", name: "mem", ts: 100, pid: 1, args: { rss: 5, heap: 2 } },
    { ph: "C", name: "mem", ts: 108, pid: 1, args: { rss: 9, heap: 3 } },
    { ph: "s", name: "job", id: 7, ts: 101, pid: 1, tid: 1, cat: "q" },
    { ph: "f", name: "job", id: 7, ts: 109, pid: 1, tid: 2, cat: "q", bp: "e" },
    { ph: "b", name: "async", id: 1, ts: 100, pid: 1, tid: 1 },
  ]);
  const us = (ticks: number) => ticks * TICK_NS / 1000;
  const [instant] = model.header.instants;
  assertEquals([model.strings[instant[2]], us(instant[1]), instant[3]], ["mark", 5, "p"]);
  assertEquals(
    model.header.counters.map((c) => [c.name, c.points.map((v, i) => i % 2 ? v : us(v))]),
    [["mem rss", [0, 5, 8, 9]], ["mem heap", [0, 2, 8, 3]]],
  );
  const [flow] = model.header.flows;
  assertEquals(flow.steps.map(([track, t]) => [model.tracks[track].info.tid, us(t)]), [
    [1, 1],
    [2, 9],
  ]);
  assertEquals(model.header.skipped, { b: 1 });
  assertEquals(us(model.duration), 10);
});

Deno.test("instants keep their category and args (an exception's type and message)", () => {
  const model = modelFromEvents([
    slice("validate (/app/a.py:3)", 0, 10),
    {
      ph: "i",
      s: "t",
      name: "ValueError",
      cat: "exception",
      ts: 4,
      pid: 1,
      tid: 1,
      args: { type: "ValueError", message: "bad value", reraised: true },
    },
    { ph: "i", s: "t", name: "checkpoint", cat: "instant", ts: 6, pid: 1, tid: 1, args: {} },
    { ph: "I", name: "bare", ts: 8, pid: 1, tid: 1 },
  ]);
  const described = model.header.instants.map(([, , name, scope, cat, args]) => [
    model.strings[name],
    scope,
    cat > 0 ? model.strings[cat - 1] : null,
    args >= 0 ? JSON.parse(model.strings[args]) : null,
  ]);
  assertEquals(described, [
    ["ValueError", "t", "exception", { type: "ValueError", message: "bad value", reraised: true }],
    ["checkpoint", "t", "instant", null],
    ["bare", "t", null, null],
  ]);
});

Deno.test("events without a usable timestamp are counted as skipped, not lost silently", () => {
  const model = modelFromEvents([
    slice("ok", 0, 1),
    { ph: "X", name: "bad", ts: Number.NaN, dur: 1, pid: 1, tid: 1 },
    { ph: "E", ts: 3, pid: 1, tid: 1 },
  ]);
  assertEquals(model.slices, 1);
  assertEquals(model.header.skipped, { X: 1, E: 1 });
});

Deno.test("gzip + base64 chunks decode to the same model, with large times and many names", async () => {
  const events = [];
  for (let i = 0; i < 20000; i++) {
    events.push(slice(`f${i % 500} (/app/m.py:${i % 500})`, 3.6e9 + i * 2.5, 2 - (i % 3) * 0.5));
  }
  const builder = new ReportBuilder();
  for (const event of events) builder.add(event);
  const header = builder.header({
    warnings: [],
    metadata: {},
    stats: { files: 1, processes: 1, threads: 1, events: 0, droppedEvents: 0, salvagedFiles: 0 },
  });
  const gzip = new CompressionStream("gzip");
  const writer = gzip.writable.getWriter();
  const writing = (async () => {
    for (const chunk of builder.encode(header)) {
      await writer.write(chunk as Uint8Array<ArrayBuffer>);
    }
    await writer.close();
  })();
  const compressed = new Uint8Array(await new Response(gzip.readable).arrayBuffer());
  await writing;
  // Split at a multiple of 3 bytes so each base64 chunk stands alone.
  const chunks = [compressed.subarray(0, 3000).toBase64(), compressed.subarray(3000).toBase64()];
  const model = decodeModel(await inflateBase64(chunks));
  const track = model.tracks[0];
  assertEquals(model.slices, 20000);
  assertEquals(model.header.origin * TICK_NS, 3.6e12);
  assertEquals(track.start[19999] * TICK_NS / 1000, 19999 * 2.5);
  assertEquals(model.strings[track.name[19999]], "f499 (/app/m.py:499)");
  assert(compressed.length / 20000 < 4, `${compressed.length / 20000} bytes per event`);
});

Deno.test("combine's per-file sources mark dropped events and abnormal endings per process", () => {
  const model = modelFromEvents([
    slice("a", 0, 1, { pid: 10 }),
    slice("b", 0, 1, { pid: 1000 }),
    slice("c", 0, 1, { pid: 30 }),
    slice("d", 0, 1, { pid: 40 }),
    slice("e", 0, 1, { pid: 50 }),
  ], {
    metadata: {
      sources: [
        {
          file: "result_10.json",
          otherData: { pid: 10, argv: ["app.py", "-v"] },
          tracerEnd: { dropped_events: 7, exit: "exit" },
        },
        {
          file: "other/result_10.json",
          otherData: { pid: 10 },
          tracerEnd: { dropped_events: 0, exit: "signal:SIGTERM" },
          pid_map: { "10": 1000 },
        },
        { file: "result_30.json", otherData: { pid: 30 } },
        // Normal ends: a pool worker its pool ended, a process tracer attach detached from.
        {
          file: "result_40.json",
          otherData: { pid: 40 },
          tracerEnd: { exit: "signal:SIGTERM", normal_end: true },
        },
        { file: "result_50.json", otherData: { pid: 50 }, tracerEnd: { exit: "detached" } },
      ],
      file_info: { files: { "/big.py": "source text" } },
    },
  });
  const byPid = Object.fromEntries(
    model.processes.map((p) => [p.info.pid, [p.info.droppedEvents, p.info.ending]]),
  );
  assertEquals(byPid, {
    10: [7, undefined],
    30: [0, "no end record (killed?)"],
    40: [0, undefined],
    50: [0, undefined],
    1000: [0, "signal:SIGTERM"],
  });
  assertEquals(model.header.metadata, { argv: ["app.py", "-v"] });
});

Deno.test("a time past what ticks can hold (dur 1e307 us) is a skipped event, not an endless encode", () => {
  const model = modelFromEvents([
    slice("ok", 0, 5),
    slice("huge", 1, 1e307),
    slice("far", 1e307, 1),
  ]);
  assertEquals(model.header.skipped, { X: 2 });
  assertEquals(names(model), ["ok"]);
});

Deno.test("a process's parent: its launch arrow, else what its otherData says", () => {
  const start = (pid: number, extra: Record<string, unknown>) => ({
    otherData: { tracer_version: 1, pid, ...extra },
    tracerEnd: { exit: "exit" },
  });
  const model = modelFromEvents([
    slice("main", 0, 100, { pid: 1, tid: 1 }),
    slice("Popen.__init__", 10, 5, { pid: 1, tid: 1 }),
    slice("child", 20, 10, { pid: 2, tid: 2 }),
    slice("tracker", 30, 10, { pid: 3, tid: 3 }),
    slice("after exec", 50, 10, { pid: 2, tid: 2 }),
    { ph: "s", id: 9, pid: 1, tid: 1, ts: 9, cat: "tracer.launch", name: "subprocess" },
    { ph: "f", id: 9, pid: 2, tid: 2, ts: 19, cat: "tracer.launch", name: "subprocess" },
  ], {
    metadata: {
      sources: [
        start(1, {}),
        start(2, { parent_pid: 77, launch: "spawn" }),
        start(2, { parent_pid: 2, launch: "exec" }),
        start(3, { parent_pid: 1, launch: "spawn" }),
      ],
    },
  });
  const launch = Object.fromEntries(
    model.processes.map((p) => [p.info.pid, [p.info.parent ?? null, p.info.launch ?? null]]),
  );
  assertEquals(launch, { 1: [null, null], 2: [1, "subprocess"], 3: [1, "spawn"] });
  assertEquals(model.header.flows.map((flow) => [flow.kind, flow.binds]), [["launch", ["e", "n"]]]);
});

Deno.test("processes from several hosts say their host and are ordered host by host", () => {
  const source = (pid: number, host: string) => ({
    otherData: { tracer_version: 1, pid, host },
    tracerEnd: { exit: "exit" },
  });
  const events = [5, 3, 9].map((pid) => slice(`p${pid}`, 0, 1, { pid, tid: pid }));
  const hostsOf = (model: ReturnType<typeof modelFromEvents>) =>
    Object.fromEntries(
      model.processes.map((p) => [p.info.pid, [p.info.host ?? null, p.info.sortIndex]]),
    );
  const two = modelFromEvents(events, {
    metadata: { sources: [source(5, "node-b"), source(3, "node-a"), source(9, "node-b")] },
  });
  assertEquals(hostsOf(two), { 3: ["node-a", 1], 5: ["node-b", 2], 9: ["node-b", 2] });
  const one = modelFromEvents(events, {
    metadata: { sources: [source(5, "node-a"), source(3, "node-a"), source(9, "node-a")] },
  });
  assertEquals(hostsOf(one), { 3: [null, 0], 5: [null, 0], 9: [null, 0] });
});

Deno.test("a name over NAME_LIMIT is cut; past NAMES_BUDGET new names are left out; both said", () => {
  const warnings: { source?: string; message: string }[] = [];
  const long = "f".repeat(NAME_LIMIT + 10);
  const cut = modelFromEvents([slice(long, 0, 1), slice("short", 2, 1)], { warnings });
  assertEquals(names(cut), [long.slice(0, NAME_LIMIT) + "\u2026", "short"]);
  assertEquals(warnings.map((w) => w.message), [
    `1 names longer than ${NAME_LIMIT} characters are cut there in the report (the JSON output keeps them whole)`,
  ]);
  // Distinct names of NAME_LIMIT characters until the budget is spent, then some more.
  const fit = Math.floor(NAMES_BUDGET / NAME_LIMIT);
  const events = Array.from(
    { length: fit + 3 },
    (_, i) => slice(String(i).padEnd(NAME_LIMIT, "x"), i * 2, 1),
  );
  warnings.length = 0;
  const full = modelFromEvents(events, { warnings });
  const kept = names(full);
  assertEquals(kept.length, fit + 3, "every event stays");
  // (the budget also holds the report's other strings: a few names fewer fit)
  const leftOut = kept.filter((name) => name.startsWith("(name left out")).length;
  assert(leftOut >= 3 && leftOut < 10, `${leftOut} names left out`);
  assertEquals(
    kept.slice(0, fit + 3 - leftOut),
    events.slice(0, fit + 3 - leftOut).map((e) => e.name),
  );
  assertEquals(warnings.length, 1);
  assert(warnings[0].message.startsWith(`${leftOut} names are left out`), warnings[0].message);
});

Deno.test("a report holds at most REPORT_PROCESSES processes; the events of later ones are counted out", () => {
  const events = Array.from(
    { length: REPORT_PROCESSES + 3 },
    (_, k) => slice("a", k, 1, { pid: k + 1, tid: 1 }),
  );
  events.push({ ph: "M", name: "process_name", pid: REPORT_PROCESSES + 2, args: { name: "x" } });
  const warnings: TraceWarning[] = [];
  const model = modelFromEvents(events, { warnings });
  assertEquals(model.processes.length, REPORT_PROCESSES);
  assertEquals(model.processes.at(-1)!.info.pid, REPORT_PROCESSES);
  assertEquals(warnings.map((w) => w.message), [
    "4 events are left out of the report: their processes or threads come after the first " +
    "100,000 processes or 100,000 threads it holds (the JSON output keeps them)",
  ]);
});

/** The report bytes of `events` (unzipped), built within `limits`. */
function encoded(
  events: TraceEvent[],
  limits?: BuilderLimits,
): { bytes: Uint8Array; spilled: boolean } {
  const builder = new ReportBuilder(limits);
  try {
    for (const event of events) builder.add(event);
    const header = builder.header({
      warnings: [],
      metadata: {},
      stats: singleFileStats(events.length),
    });
    return { bytes: concatBytes([...builder.encode(header)]), spilled: builder.spilled };
  } finally {
    builder.close();
  }
}

/** Nested calls on several threads, written in end order (children first), with args and B/E. */
function nestedEvents(count: number, seed: number): TraceEvent[] {
  const next = seededRandom(seed);
  const events: TraceEvent[] = [];
  const emit = (tid: number, start: number, span: number, depth: number): void => {
    if (events.length >= count) return;
    let cursor = start;
    while (cursor < start + span && events.length < count) {
      const dur = Math.floor(next() * (start + span - cursor)) + 1;
      if (depth < 6 && next() < 0.5) emit(tid, cursor, dur, depth + 1);
      const args = next() < 0.1 ? { args: { n: Math.floor(next() * 5) } } : {};
      events.push(slice(`f${Math.floor(next() * 40)}`, cursor / 100, dur / 100, { tid, ...args }));
      cursor += dur + Math.floor(next() * 3);
    }
  };
  for (let round = 0; events.length < count; round++) {
    for (let tid = 1; tid <= 5; tid++) emit(tid, round * 1000, 900, 0);
  }
  events.push({ ph: "B", name: "open", ts: 1, pid: 1, tid: 2 });
  return events;
}

Deno.test("a report whose slices outgrow memory is byte-identical to one built in memory", () => {
  const events = nestedEvents(30_000, 11);
  const inMemory = encoded(events);
  assertEquals(inMemory.spilled, false);
  for (const limits of [{ slices: 1000, columnBytes: 1000 }, { slices: 7, columnBytes: 64 }]) {
    const spilled = encoded(events, limits);
    assertEquals(spilled.spilled, true);
    assert(spilled.bytes.length === inMemory.bytes.length, JSON.stringify(limits));
    assertEquals(spilled.bytes, inMemory.bytes);
  }
  const model = modelFromEvents(events, { limits: { slices: 1000, columnBytes: 1000 } });
  assertEquals(model.slices, 30_001);
  assertEquals(model.tracks.length, 5);
});

Deno.test("the report's scratch files are unlinked at once: nothing is left in the temp folder", async () => {
  const dir = await Deno.makeTempDir();
  const before = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", dir);
  try {
    const builder = new ReportBuilder({ slices: 100, columnBytes: 100 });
    for (const event of nestedEvents(5_000, 3)) builder.add(event);
    assert(builder.spilled);
    assertEquals([...Deno.readDirSync(dir)], []);
    builder.close();
  } finally {
    if (before === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", before);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the builder's memory does not grow with the slices: 3 M of them in 40 tracks", async () => {
  // Tracks filled one after another, as files are read: each was once busy, then idle.
  const script = `
    import { ReportBuilder } from ${JSON.stringify(import.meta.resolve("./_report_data.ts"))};
    const builder = new ReportBuilder();
    let peak = 0;
    for (let tid = 0; tid < 40; tid++) {
      for (let i = 0; i < 75_000; i++) {
        builder.add({ ph: "X", name: "f" + (i % 50), ts: tid * 1e5 + i, dur: 0.5, pid: 1, tid, cat: "py" });
      }
      globalThis.gc();
      peak = Math.max(peak, Deno.memoryUsage().external);
    }
    const header = builder.header({ warnings: [], metadata: {}, stats: { files: 1, processes: 1, threads: 40, events: 0, droppedEvents: 0, salvagedFiles: 0 } });
    let bytes = 0;
    for (const chunk of builder.encode(header)) bytes += chunk.length;
    globalThis.gc();
    peak = Math.max(peak, Deno.memoryUsage().external);
    builder.close();
    console.log(JSON.stringify({ peak, slices: header.tracks.reduce((n, t) => n + t.count, 0), bytes }));
  `;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(output.success, new TextDecoder().decode(output.stderr));
  const result = JSON.parse(new TextDecoder().decode(output.stdout));
  assertEquals(result.slices, 3_000_000);
  // Held in memory, 3 M slices took 87 MB of typed arrays, 150 MB with their spare capacity; the
  // budget keeps about 30 MB of slices, plus the columns' buffers.
  assert(result.peak < 100e6, `${(result.peak / 1e6).toFixed(0)} MB of array buffers`);
});

Deno.test("the header's name table is encoded piece by piece, its length exact for any text", () => {
  const odd = [
    "café",
    "名前",
    "🎉 party",
    "lone \uD800 surrogate",
    "low \uDC80 byte",
    "\u2028line",
  ];
  const events = Array.from(
    { length: 12_000 },
    (_, i) => slice(`${odd[i % odd.length]} ${i} ${"x".repeat(1000)}`, i, 0.5),
  );
  const builder = new ReportBuilder();
  for (const event of events) builder.add(event);
  const header = builder.header({ warnings: [], metadata: {}, stats: singleFileStats(12_000) });
  const chunks = [...builder.encode(header)];
  builder.close();
  // 12 MB of names: never one piece of that size (it once was one string, then one array).
  assert(Math.max(...chunks.map((chunk) => chunk.length)) < 1 << 18);
  const model = decodeModel(concatBytes(chunks));
  const track = model.tracks[0];
  assertEquals(
    model.strings[track.name[4]],
    `${odd[4].replace("\uDC80", "\\x80")} 4 ${"x".repeat(1000)}`,
  );
  assertEquals(model.strings[track.name[2]], `🎉 party 2 ${"x".repeat(1000)}`);
  assertEquals(model.strings[track.name[3]], `lone \\ud800 surrogate 3 ${"x".repeat(1000)}`);
  assertEquals(model.slices, 12_000);
});

Deno.test("a track costs no typed arrays of its own: 100,000 threads of 2 slices each", async () => {
  const script = `
    import { ReportBuilder } from ${JSON.stringify(import.meta.resolve("./_report_data.ts"))};
    const builder = new ReportBuilder();
    for (let tid = 0; tid < 100_000; tid++) {
      for (let i = 0; i < 2; i++) {
        builder.add({ ph: "X", name: "f", ts: i, dur: 0.5, pid: 1 + (tid >> 2), tid, cat: "py" });
      }
    }
    const header = builder.header({ warnings: [], metadata: {}, stats: { files: 1, processes: 1, threads: 1, events: 0, droppedEvents: 0, salvagedFiles: 0 } });
    builder.close();
    console.log(JSON.stringify({ rss: Deno.memoryUsage().rss, tracks: header.tracks.length }));
  `;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(output.success, new TextDecoder().decode(output.stderr));
  const result = JSON.parse(new TextDecoder().decode(output.stdout));
  assertEquals(result.tracks, 100_000);
  // With six small typed arrays per track, this took 380 MB; now about 120 MB.
  assert(result.rss < 250e6, `${(result.rss / 1e6).toFixed(0)} MB resident`);
});
