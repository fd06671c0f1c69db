import assert from "node:assert/strict";
import { join } from "node:path";
import { TracerError } from "../errors.ts";
import type { TraceEvent } from "../trace_event.ts";
import { openRawTrace, type RawSummary, RecordKind, visitRecords } from "./records.ts";
import {
  eventsRecord,
  jsonRecord,
  openArgsRecord,
  paddingRecord,
  rawFile,
  rawRecord,
  stackRecord,
  textRecord,
  valuesRecord,
  zeroTail,
} from "./testing.ts";

const encoder = new TextEncoder();

/** One X event as the reader hands it out: tid, start, dur, name, and "open" when unfinished. */
type Call = [number, number, number, string] | [number, number, number, string, "open"];

interface Read {
  header: string | undefined;
  calls: Call[];
  meta: TraceEvent[];
  summary: RawSummary;
}

/** Opens `bytes` as a raw file and visits it, in batches of `batch` events. */
async function read(bytes: Uint8Array, batch = Infinity): Promise<Read> {
  const dir = await Deno.makeTempDir({ prefix: "records_test_" });
  try {
    const path = join(dir, "result_7.raw");
    await Deno.writeFile(path, bytes);
    using pass = await openRawTrace(path);
    const calls: Call[] = [];
    const meta: TraceEvent[] = [];
    let summary: RawSummary | undefined;
    const visitor = {
      onEvents(numbers: Float64Array, from: number, to: number, unfinished: boolean) {
        for (let i = from; i < to; i += 3) {
          const call: Call = [
            numbers[0],
            numbers[i],
            numbers[i + 1],
            pass.names.values(numbers[i + 2]).name,
          ];
          calls.push(unfinished ? [...call, "open"] : call);
        }
      },
      onMeta(events: TraceEvent[]) {
        meta.push(...events);
      },
      onEnd(end: RawSummary) {
        summary = end;
      },
    };
    for await (const _ of visitRecords(pass, visitor, batch)) { /* the visitor collects */ }
    assert.ok(summary !== undefined, "onEnd is called once the events are done");
    assert.equal(summary.leftover, pass.leftover);
    return { header: pass.header, calls, meta, summary };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const HEADER = { tracer_version: 1, pid: 7 };
const header = () => jsonRecord(RecordKind.header, HEADER);
const names = () => jsonRecord(RecordKind.names, [[1, "f", "py"], [2, "g", "py"], [3, "h", "c"]]);
const threadName = (tid: number, name: string) =>
  jsonRecord(RecordKind.meta, [{ ph: "M", pid: 7, tid, name: "thread_name", args: { name } }]);
const END = { exit: "exit", end_mono_ns: 5_000, dropped_events: 0, deepest_stack: 3 };

Deno.test("names given after the events that use them still name them", async () => {
  const { header: text, calls, summary } = await read(rawFile(
    header(),
    eventsRecord(70, [[1_000, 500, 1], [2_000, 10, 3]]),
    names(),
    eventsRecord(70, [[3_000, 5, 2]]),
  ));
  assert.equal(text, JSON.stringify(HEADER));
  assert.deepEqual(calls, [[70, 1_000, 500, "f"], [70, 2_000, 10, "h"], [70, 3_000, 5, "g"]]);
  assert.equal(summary.events, 3);
  assert.equal(summary.minNs, 1_000);
});

Deno.test("an events block's events are its first `count` slots, in slot order", async () => {
  const { calls, summary } = await read(rawFile(
    header(),
    names(),
    // A third slot with numbers in it, past the count: stored, not yet counted.
    eventsRecord(70, [[300, 1, 1], [100, 2, 2], [200, 3, 3]], { slots: 5, count: 2 }),
    eventsRecord(71, [], { slots: 4 }),
    eventsRecord(72, [[50, 4, 3]], { slots: 2 }),
  ));
  assert.deepEqual(calls, [[70, 300, 1, "f"], [70, 100, 2, "g"], [72, 50, 4, "h"]]);
  assert.equal(summary.events, 3);
  assert.equal(summary.minNs, 50);
});

Deno.test("padding records and later headers are skipped; metadata passes in file order", async () => {
  const { calls, meta, summary } = await read(
    rawFile(
      header(),
      threadName(70, "first"),
      paddingRecord(37),
      names(),
      eventsRecord(70, [[10, 1, 1], [20, 1, 2], [30, 1, 3]]),
      paddingRecord(0),
      header(),
      threadName(70, "second"),
    ),
    2,
  );
  assert.deepEqual(calls, [[70, 10, 1, "f"], [70, 20, 1, "g"], [70, 30, 1, "h"]]);
  assert.deepEqual(meta.map((event) => event.args?.name), ["first", "second"]);
  assert.equal(summary.leftover, 0);
});

Deno.test("a killed process: its open calls end at the latest clock, each 1 ns before its caller", async () => {
  const { calls, summary } = await read(rawFile(
    header(),
    names(),
    stackRecord(70, [[10, 1]], { slots: 2 }), // outgrown below
    eventsRecord(70, [[100, 50, 3]], { slots: 8 }),
    eventsRecord(71, [[200, 1_000, 3]], { slots: 8 }), // ends at 1200: the latest clock
    // A slot with name id 0 is a call not recorded; a slot past the depth is no open call.
    stackRecord(70, [[10, 1], [20, 0], [30, 2], [1_199, 3], [1_300, 1]], { slots: 8, count: 4 }),
    stackRecord(71, [[190, 1]], { slots: 8 }),
    zeroTail(4096),
  ));
  assert.deepEqual(calls, [
    [70, 100, 50, "h"],
    [71, 200, 1_000, "h"],
    [70, 10, 1_190, "f", "open"], // 10 -> 1200
    [70, 30, 1_169, "g", "open"], // 30 -> 1199
    [70, 1_199, 0, "h", "open"], // 1199 -> 1199: not before its own start
    [71, 190, 1_010, "f", "open"],
  ]);
  assert.deepEqual(summary, {
    endText: undefined,
    events: 6,
    unfinished: 4,
    minNs: 10,
    endNs: 1_200,
    leftover: 0,
    leftOut: 0,
  });
});

Deno.test("a killed process whose latest clock is an open call's start ends there", async () => {
  const { calls, summary } = await read(rawFile(
    header(),
    names(),
    eventsRecord(70, [[100, 50, 3]]),
    stackRecord(70, [[10, 1], [900, 2]], { slots: 4 }),
    zeroTail(64),
  ));
  assert.deepEqual(calls, [[70, 100, 50, "h"], [70, 10, 890, "f", "open"], [
    70,
    900,
    0,
    "g",
    "open",
  ]]);
  assert.equal(summary.endNs, 900);
});

Deno.test("a process that ended well: its open calls end at the end record's end_mono_ns", async () => {
  const endText = JSON.stringify(END);
  const { calls, summary } = await read(rawFile(
    header(),
    stackRecord(70, [[10, 1], [4_000, 2], [4_999, 3]], { slots: 4 }),
    names(),
    eventsRecord(70, [[100, 6_000, 3]]), // ends past end_mono_ns: the end record wins
    jsonRecord(RecordKind.end, END),
  ));
  assert.deepEqual(calls, [
    [70, 100, 6_000, "h"],
    [70, 10, 4_990, "f", "open"],
    [70, 4_000, 999, "g", "open"],
    [70, 4_999, 0, "h", "open"],
  ]);
  assert.deepEqual(summary, {
    endText,
    events: 4,
    unfinished: 3,
    minNs: 10,
    endNs: 5_000,
    leftover: 0,
    leftOut: 0,
  });
});

Deno.test("the last stack record of a thread is its stack, and orders the threads", async () => {
  const { calls } = await read(rawFile(
    header(),
    names(),
    stackRecord(70, [[10, 3], [20, 3]]),
    stackRecord(71, [[15, 2]], { slots: 2 }),
    stackRecord(70, [[10, 1], [30, 2]], { slots: 4 }),
    stackRecord(72, [], { slots: 2 }), // no open call
    jsonRecord(RecordKind.end, END),
  ));
  assert.deepEqual(calls, [
    [71, 15, 4_985, "g", "open"],
    [70, 10, 4_990, "f", "open"],
    [70, 30, 4_969, "g", "open"],
  ]);
});

Deno.test("a cut-off last record ends the data; its bytes are counted", async () => {
  const whole = eventsRecord(70, [[300, 1, 1], [400, 1, 1]]);
  for (const cut of [1, 7, 8, 20, whole.length - 24]) {
    const { calls, summary } = await read(rawFile(
      header(),
      names(),
      eventsRecord(70, [[100, 1, 1]]),
      whole.subarray(0, cut),
    ));
    assert.deepEqual(calls, [[70, 100, 1, "f"]], `cut at ${cut}`);
    assert.equal(summary.leftover, cut, `cut at ${cut}`);
    assert.equal(summary.endText, undefined);
    assert.equal(summary.endNs, 101);
  }
  // A size past the end of the file, however large.
  const huge = eventsRecord(70, [[300, 1, 1]]);
  new DataView(huge.buffer).setUint32(4, 0xffff_fff0, true);
  const { summary } = await read(rawFile(header(), huge));
  assert.equal(summary.leftover, huge.length);
});

Deno.test("a file whose last record lacks its padding is whole", async () => {
  const end = jsonRecord(RecordKind.end, { ...END, x: 1 });
  const payload = new DataView(end.buffer).getUint32(4, true);
  assert.notEqual(payload % 8, 0, "the test needs padding to cut");
  const { summary } = await read(rawFile(header(), end.subarray(0, 8 + payload)));
  assert.equal(summary.endText, JSON.stringify({ ...END, x: 1 }));
  assert.equal(summary.leftover, 0);
});

Deno.test("a damaged record ends the data; it and the records after it are counted", async () => {
  const reserved = stackRecord(70, [[1, 1]]);
  reserved[2] = 1; // only E and V blocks carry a recycle number there (--flight)
  const damaged: Record<string, Uint8Array> = {
    "an unknown kind": rawRecord(0x51, encoder.encode("Q")),
    "an events count past its slots": eventsRecord(70, [[1, 1, 1]], { slots: 1, count: 2 }),
    "an events count that is not a whole number": eventsRecord(70, [[1, 1, 1]], { count: 0.5 }),
    "an events size that is not whole slots": rawRecord(RecordKind.events, new Uint8Array(30)),
    "an events block shorter than its head": rawRecord(RecordKind.events, new Uint8Array(8)),
    "a stack depth past its slots": stackRecord(70, [[1, 1]], { slots: 1, count: 2 }),
    "a negative stack depth": stackRecord(70, [[1, 1]], { count: -1 }),
    "a stack size that is not whole slots": rawRecord(RecordKind.stack, new Uint8Array(24)),
    "names that do not parse": textRecord(RecordKind.names, '[[4, "x", "py"]'),
    "names with a bad id": jsonRecord(RecordKind.names, [[4, "x", "py"], [0, "y", "py"]]),
    "metadata that does not parse": textRecord(RecordKind.meta, "[{"),
    "metadata that is not an array": jsonRecord(RecordKind.meta, { ph: "M" }),
    "an end record that is not an object": jsonRecord(RecordKind.end, [1]),
    "a head whose reserved bytes are not zeros": reserved,
  };
  for (const [what, bad] of Object.entries(damaged)) {
    const after = [
      jsonRecord(RecordKind.names, [[4, "late", "py"]]),
      eventsRecord(70, [[500, 1, 4]]),
      stackRecord(70, [[600, 1]]),
      threadName(70, "late"),
      jsonRecord(RecordKind.end, END),
    ];
    const { calls, meta, summary } = await read(rawFile(
      header(),
      names(),
      eventsRecord(70, [[100, 5, 1]], { slots: 3 }),
      stackRecord(70, [[50, 2]], { slots: 2 }),
      bad,
      ...after,
      zeroTail(8192),
    ));
    assert.deepEqual(calls, [[70, 100, 5, "f"], [70, 50, 55, "g", "open"]], what);
    assert.deepEqual(meta, [], what);
    const lost = bad.length + after.reduce((sum, record) => sum + record.length, 0);
    assert.deepEqual(
      summary,
      {
        endText: undefined,
        events: 2,
        unfinished: 1,
        minNs: 50,
        endNs: 105,
        leftover: lost,
        leftOut: 0,
      },
      what,
    );
  }
});

Deno.test("a file cut at any byte reads as the complete records before the cut", async () => {
  const records = [
    header(),
    eventsRecord(70, [[100, 10, 1], [120, 10, 2]], { slots: 3 }),
    names(),
    paddingRecord(5),
    threadName(70, "MainThread"),
    stackRecord(70, [[50, 1], [60, 0], [70, 2]], { slots: 4 }),
    eventsRecord(71, [[200, 30, 3]]),
    jsonRecord(RecordKind.end, END),
  ];
  const whole = rawFile(...records);
  const full = await read(whole);
  const finished = full.calls.filter((call) => call[4] !== "open");
  assert.equal(finished.length, 3);
  assert.equal(full.calls.length, 5);
  // [start, end of its head and payload] of each record.
  const spans: [number, number][] = [];
  for (let at = 16, i = 0; i < records.length; at += records[i++].length) {
    spans.push([at, at + 8 + new DataView(records[i].buffer).getUint32(4, true)]);
  }
  for (let cut = 0; cut < whole.length; cut++) {
    const got = await read(whole.slice(0, cut));
    const complete = spans.filter(([, end]) => end <= cut).length;
    const partial = spans.find(([start, end]) => start < cut && cut < end);
    assert.equal(got.summary.leftover, partial === undefined ? 0 : cut - partial[0], `cut ${cut}`);
    if (complete === 0) {
      assert.equal(got.header, undefined, `cut ${cut}`);
      assert.deepEqual(got.calls, [], `cut ${cut}`);
      continue;
    }
    const times = (calls: Call[]) => calls.map(([tid, start, dur]) => [tid, start, dur]);
    const done = got.calls.filter((call) => call[4] !== "open");
    const expected = complete >= 7 ? 3 : complete >= 2 ? 2 : 0;
    assert.deepEqual(times(done), times(finished.slice(0, expected)), `cut ${cut}`);
    assert.equal(got.meta.length, complete >= 5 ? 1 : 0, `cut ${cut}`);
    const open = got.calls.filter((call) => call[4] === "open");
    assert.equal(open.length, complete >= 6 ? 2 : 0, `cut ${cut}`);
    assert.equal(got.summary.endText !== undefined, complete === 8, `cut ${cut}`);
  }
});

Deno.test("the magic line: another version is refused by name, a foreign file as foreign", async () => {
  const v1 = new Uint8Array([
    ...encoder.encode("TRACER-RAW 1\nH"),
    ...[2, 0, 0, 0],
    ...encoder.encode("{}"),
  ]);
  await assert.rejects(
    () => read(v1),
    (error) =>
      error instanceof TracerError &&
      /result_7\.raw was written by another tracer version \(raw format 1; this tracer reads format 2\)/
        .test(error.message),
  );
  for (const foreign of ['{"traceEvents":[]}', "TRACER-RAW 2\nabc", "TRACER-RAX 2\n\0\0\0"]) {
    await assert.rejects(
      () => read(encoder.encode(foreign)),
      (error) =>
        error instanceof TracerError &&
        /result_7\.raw is not a tracer raw trace file \(bad magic line\)$/.test(error.message),
      foreign,
    );
  }
  // Nothing stored yet: no header, no error.
  for (const unwritten of ["", "TRACER-R", "TRACER-R\0\0\0", "\0".repeat(4096)]) {
    const got = await read(encoder.encode(unwritten));
    assert.equal(got.header, undefined, JSON.stringify(unwritten));
    assert.equal(got.summary.leftover, 0);
  }
  const onlyMagic = await read(rawFile(zeroTail(1024)));
  assert.equal(onlyMagic.header, undefined);
  // A magic line not stored yet makes the rest unread, whatever it holds.
  const unstored = rawFile(header(), names(), eventsRecord(70, [[1, 1, 1]]));
  unstored.fill(0, 0, 16);
  assert.equal((await read(unstored)).header, undefined);
});

Deno.test("blocks larger than the read buffer are skipped, then read whole", async () => {
  const many = Array.from({ length: 100_000 }, (_, k): [number, number, number] => [k, 1, 2]);
  const { calls, summary } = await read(
    rawFile(
      header(),
      eventsRecord(70, many, { slots: 120_000 }), // 2.9 MB, its names after it
      names(),
      eventsRecord(71, many.slice(0, 3)),
      stackRecord(71, [[5, 1]]),
      zeroTail(3 << 20),
    ),
    8192,
  );
  assert.equal(calls.length, 100_000 + 3 + 1);
  assert.deepEqual(calls[99_999], [70, 99_999, 1, "g"]);
  assert.deepEqual(calls.slice(-4), [
    [71, 0, 1, "g"],
    [71, 1, 1, "g"],
    [71, 2, 1, "g"],
    [71, 5, 99_995, "f", "open"],
  ]);
  assert.equal(summary.endNs, 100_000);
});

Deno.test("a call killed between its store and its depth's decrement is read as finished only", async () => {
  const killed = (innermost: [number, number, number]) =>
    read(rawFile(
      header(),
      names(),
      stackRecord(70, [[1_000, 1], [2_000, 2]]),
      eventsRecord(70, [[1_500, 100, 3], innermost]),
      zeroTail(64),
    ));
  // g started at 2_000, finished and stored; the depth still says open
  const { calls, summary } = await killed([2_000, 400, 2]);
  assert.deepEqual(calls, [
    [70, 1_500, 100, "h"],
    [70, 2_000, 400, "g"],
    [70, 1_000, 1_400, "f", "open"],
  ]);
  assert.equal(summary.unfinished, 1);
  // another call that merely has g's name (or its start) leaves g open
  const other = await killed([1_600, 100, 2]);
  assert.deepEqual(other.calls.filter((call) => call[4] === "open").map((call) => call[3]), [
    "f",
    "g",
  ]);
});

Deno.test("values blocks are calls written whole; an open call keeps its arguments; open spans close nested", async () => {
  const { calls, meta, summary } = await read(rawFile(
    header(),
    names(),
    openArgsRecord(70, [[1, '{"x":"0"}']]), // outgrown below
    // The second call's args are cut short (its process died while writing them): none.
    valuesRecord(
      70,
      [[30, 10, 2, '{"return_value":"1"}'], [45, 2, 3, '{"func_'], [95, 1, 1, ""]],
      64,
    ),
    jsonRecord(RecordKind.meta, [
      { ph: "B", pid: 7, tid: 70, ts: 0.05, name: "span", cat: "span", args: {} },
      { ph: "B", pid: 7, tid: 70, ts: 0.5, name: "closed", cat: "span", args: {} },
      { ph: "E", pid: 7, tid: 70, ts: 0.6 },
    ]),
    openArgsRecord(70, [
      [1, '{"x":"1"}'],
      [2, '{"y":"\'new\'"}'],
      [1, '{"x":"another name id than the open call\'s"}'],
      [3, "not json"],
    ]),
    stackRecord(70, [[10, 1], [60, 2], [80, 3], [90, 3]], { slots: 8 }),
    zeroTail(4096),
  ));
  // The latest clock is the closed span's end (600 ns); f (10) > span (50) > g (60) > h (80) >
  // h (90) end at 600, 599, 598, 597 and 596.
  assert.deepEqual(calls, [[70, 80, 517, "h", "open"], [70, 90, 506, "h", "open"]]);
  const open = (ts: number, dur: number, name: string, args: unknown) => ({
    ph: "X",
    pid: 7,
    tid: 70,
    ts,
    dur,
    name,
    cat: "py",
    args: { func_args: args, unfinished: true },
  });
  assert.deepEqual(meta.slice(0, 3), [
    {
      ph: "X",
      pid: 7,
      tid: 70,
      ts: 0.03,
      dur: 0.01,
      name: "g",
      cat: "py",
      args: { return_value: "1" },
    },
    { ph: "X", pid: 7, tid: 70, ts: 0.045, dur: 0.002, name: "h", cat: "c", args: {} },
    { ph: "X", pid: 7, tid: 70, ts: 0.095, dur: 0.001, name: "f", cat: "py", args: {} },
  ]);
  assert.deepEqual(meta.slice(6), [
    open(0.01, 0.59, "f", { x: "1" }),
    open(0.06, 0.538, "g", { y: "'new'" }),
    { ph: "E", pid: 7, tid: 70, ts: 0.599, args: { unfinished: true } },
  ]);
  assert.equal(summary.events, 7);
  assert.equal(summary.unfinished, 4);
  assert.equal(summary.minNs, 10);
});

Deno.test("--flight: only what ends in the last S seconds is kept, open calls and spans too", async () => {
  const flight = jsonRecord(RecordKind.header, { ...HEADER, flight_s: 1e-6 }); // a 1,000 ns window
  const recycled = eventsRecord(70, [[100, 50, 1], [3_900, 200, 2]]);
  recycled[1] = 5; // an events block recycled five times (its recycle number)
  const meta = jsonRecord(RecordKind.meta, [
    { ph: "i", pid: 7, tid: 70, ts: 0.5, name: "old", s: "t" },
    { ph: "i", pid: 7, tid: 70, ts: 4.5, name: "new", s: "t" },
    { ph: "B", pid: 7, tid: 70, ts: 0.2, name: "closed early" },
    { ph: "E", pid: 7, tid: 70, ts: 0.3 },
    { ph: "B", pid: 7, tid: 70, ts: 0.4, name: "open at the end" },
  ]);
  const { calls, meta: events, summary } = await read(
    rawFile(
      flight,
      names(),
      recycled,
      meta,
      stackRecord(70, [[10, 3]]),
      jsonRecord(RecordKind.end, END),
    ),
  );
  // The window is [4,000, 5,000] ns: f (ends at 150) goes, g (ends at 4,100) stays.
  assert.deepEqual(calls, [[70, 3_900, 200, "g"], [70, 10, 4_990, "h", "open"]]);
  assert.deepEqual(
    events.map((event) => `${event.ph} ${event.name ?? ""}`.trim()),
    ["i new", "B open at the end", "E"],
  );
  assert.equal(summary.minNs, 10);
});
