import assert from "node:assert/strict";
import { join } from "node:path";
import { TracerError } from "../errors.ts";
import { convertRawFile, microseconds, tracerEndText } from "./convert.ts";
import { RecordKind } from "./records.ts";
import { eventsRecord, jsonRecord, rawFile, stackRecord, textRecord, zeroTail } from "./testing.ts";

const encoder = new TextEncoder();

const HEADER_TEXT =
  '{"tracer_version":1,"pid":7,"clock":{"epoch_ns":1732719734123456789,"mono_ns":5},' +
  '"exec_of":"result_7.raw"}';

/** A complete raw file: header, events before their names, names, meta, open calls, end. */
function sampleRecords(): Uint8Array[] {
  return [
    textRecord(RecordKind.header, HEADER_TEXT),
    eventsRecord(70, [[1_000_005, 2_000, 2], [1_000_000, 10_050, 1]], { slots: 4 }),
    jsonRecord(RecordKind.names, [[1, "f (/a.py:1)", "py"], [2, "time.sleep", "c"]]),
    eventsRecord(71, [[1_500_000, 999, 1]]),
    jsonRecord(RecordKind.meta, [
      { ph: "M", pid: 7, tid: 70, name: "process_name", args: { name: "python3 a.py" } },
      { ph: "M", pid: 7, tid: 70, name: "thread_name", args: { name: "MainThread" } },
    ]),
    stackRecord(70, [[999_000, 1], [1_999_000, 0], [2_000_000, 2]], { slots: 8 }),
    // The shim's own counts (stale here) give way to the reader's; its other members stay.
    textRecord(
      RecordKind.end,
      '{"exit":"exit","end_mono_ns":2000042,"events":1,"dropped_events":3,"deepest_stack":2,' +
        '"lost":"disk full","lost_mono_ns":1999999}',
    ),
  ];
}

async function convertBytes(bytes: Uint8Array) {
  const dir = await Deno.makeTempDir({ prefix: "raw_trace_test_" });
  try {
    await Deno.writeFile(join(dir, "result_7_1.raw"), bytes);
    const jsonPath = join(dir, "result_7_1.json");
    const result = await convertRawFile(join(dir, "result_7_1.raw"), jsonPath);
    const text = result.written ? await Deno.readTextFile(jsonPath) : "";
    return { result, text };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("convertRawFile writes the exact per-process JSON layout", async () => {
  const { result, text } = await convertBytes(rawFile(...sampleRecords()));
  assert.deepEqual(result, { written: true, events: 5, truncatedBytes: 0, ended: true });
  const header = HEADER_TEXT.replace("result_7.raw", "result_7.json");
  assert.equal(
    text,
    `{"otherData":${header},"traceEvents":[
{"ph":"X","pid":7,"tid":70,"ts":1000.005,"dur":2.000,"name":"time.sleep","cat":"c"},
{"ph":"X","pid":7,"tid":70,"ts":1000.000,"dur":10.050,"name":"f (/a.py:1)","cat":"py"},
{"ph":"X","pid":7,"tid":71,"ts":1500.000,"dur":0.999,"name":"f (/a.py:1)","cat":"py"},
{"ph":"M","pid":7,"tid":70,"name":"process_name","args":{"name":"python3 a.py"}},
{"ph":"M","pid":7,"tid":70,"name":"thread_name","args":{"name":"MainThread"}},
{"ph":"X","pid":7,"tid":70,"ts":999.000,"dur":1001.042,"name":"f (/a.py:1)","cat":"py","args":{"unfinished":true}},
{"ph":"X","pid":7,"tid":70,"ts":2000.000,"dur":0.041,"name":"time.sleep","cat":"c","args":{"unfinished":true}}
],"tracerEnd":{"first_ts":999.000,"exit":"exit","end_mono_ns":2000042,"events":5,"dropped_events":3,"deepest_stack":2,"lost":"disk full","lost_mono_ns":1999999,"unfinished":2}}
`,
  );
  assert.match(text, /"epoch_ns":1732719734123456789,/, "large integers keep every digit");
});

Deno.test("a killed process's file: its open calls end at its last clock, tracerEnd says killed", async () => {
  const records = sampleRecords().slice(0, -1);
  const { result, text } = await convertBytes(rawFile(...records, zeroTail(1 << 16)));
  assert.deepEqual(result, { written: true, events: 5, truncatedBytes: 0, ended: false });
  const parsed = JSON.parse(text);
  // The latest clock is the open call's start at 2000 us, after every finished call's end.
  assert.deepEqual(parsed.traceEvents.slice(-2), [
    {
      ph: "X",
      pid: 7,
      tid: 70,
      ts: 999,
      dur: 1001,
      name: "f (/a.py:1)",
      cat: "py",
      args: { unfinished: true },
    },
    {
      ph: "X",
      pid: 7,
      tid: 70,
      ts: 2000,
      dur: 0,
      name: "time.sleep",
      cat: "c",
      args: { unfinished: true },
    },
  ]);
  assert.ok(
    text.endsWith(
      '],"tracerEnd":{"first_ts":999.000,"exit":"killed","events":5,"unfinished":2,' +
        '"end_mono_ns":2000000,"truncated_bytes":0}}\n',
    ),
  );
});

Deno.test("a file cut at any byte converts to valid JSON holding its complete records", async () => {
  const records = sampleRecords();
  const whole = rawFile(...records);
  // Each record's start, and the end of its head and payload (its padding may be cut off).
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = 0, at = 16; i < records.length; at += records[i++].length) {
    starts.push(at);
    ends.push(at + 8 + new DataView(records[i].buffer).getUint32(4, true));
  }
  for (let cut = 0; cut < whole.length; cut++) {
    const { result, text } = await convertBytes(whole.subarray(0, cut));
    const complete = ends.filter((end) => end <= cut).length;
    if (complete === 0) {
      assert.equal(result.written, false, `cut at ${cut}: no header, no file`);
      continue;
    }
    const parsed = JSON.parse(text);
    const x = parsed.traceEvents.filter((e: { ph: string }) => e.ph === "X");
    const finished = [0, 0, 2, 2, 3, 3, 3, 3][complete];
    const open = complete >= 6 ? 2 : 0;
    assert.equal(x.length, finished + open, `cut at ${cut}`);
    assert.equal(result.events, x.length);
    assert.equal(result.ended, complete === 7);
    assert.equal(parsed.otherData.exec_of, "result_7.json");
    if (complete === 7) continue;
    const partial = starts.findIndex((start, i) => start < cut && cut < ends[i]);
    const truncated = partial < 0 ? 0 : cut - starts[partial];
    assert.equal(result.truncatedBytes, truncated, `cut at ${cut}`);
    const endNs = [undefined, undefined, 1_010_050, 1_010_050, 1_500_999, 1_500_999, 2_000_000][
      complete
    ];
    assert.deepEqual(parsed.tracerEnd, {
      ...(x.length > 0 ? { first_ts: open > 0 ? 999 : 1000 } : {}),
      exit: "killed",
      events: x.length,
      unfinished: open,
      ...(endNs !== undefined ? { end_mono_ns: endNs } : {}),
      truncated_bytes: truncated,
    }, `cut at ${cut}`);
  }
});

Deno.test("names are data: quotes, markup, control characters and unicode stay exact", async () => {
  const hostile = [
    '</script><img src=x onerror="alert(1)">',
    'back\\slash "quoted"\n\ttab\u0000nul\u2028',
    '"é 漢字 😀',
    "lone \ud800 surrogate",
    "/tmp/caf\udce9.py", // a Latin-1 path, as Python's surrogateescape reads it
  ];
  // A lone surrogate cannot be UTF-8: it is spelled, a surrogateescape byte as Python prints it.
  const shown = [...hostile.slice(0, 3), "lone \\ud800 surrogate", "/tmp/caf\\xe9.py"];
  const { text } = await convertBytes(rawFile(
    jsonRecord(RecordKind.header, { tracer_version: 1, pid: 3 }),
    jsonRecord(RecordKind.names, hostile.map((name, i) => [i + 1, name, "py"])),
    eventsRecord(3, hostile.map((_, i) => [i * 10_000, 5, i + 1] as [number, number, number])),
  ));
  const lines = text.split("\n");
  assert.equal(lines.length, 2 + hostile.length + 1, "one event a line: no raw newline in names");
  const names = JSON.parse(text).traceEvents.map((e: { name: string }) => e.name);
  assert.deepEqual(names, shown);
  assert.ok(!text.includes("\u0000") && !text.includes("\u2028"), "control characters escaped");
  assert.ok(text.includes('"\\"é 漢字 😀"'), "non-ASCII as raw UTF-8, after an escaped quote");
  assert.doesNotMatch(text.replaceAll("\\\\", ""), /\\u[dD][89a-fA-F]/, "no surrogate escape");
});

Deno.test("bad input: a foreign or older file is refused, an empty one writes nothing", async () => {
  await assert.rejects(
    () => convertBytes(encoder.encode('{"traceEvents":[]}')),
    (error) => error instanceof TracerError && /not a tracer raw trace file/.test(error.message),
  );
  await assert.rejects(
    () => convertBytes(encoder.encode('TRACER-RAW 1\nH\x0f\0\0\0{"pid":7}')),
    (error) =>
      error instanceof TracerError && /written by another tracer version/.test(error.message),
  );
  for (const empty of [new Uint8Array(0), rawFile(), rawFile(zeroTail(1 << 20))]) {
    const { result } = await convertBytes(empty);
    assert.deepEqual(result, { written: false, events: 0, truncatedBytes: 0, ended: false });
  }
});

Deno.test("a damaged events block stops the conversion there, counted as truncated", async () => {
  const odd = eventsRecord(3, [[2000, 1000, 1]], { slots: 1, count: 2 });
  const after = eventsRecord(3, [[5000, 1000, 1]]);
  const { result, text } = await convertBytes(rawFile(
    jsonRecord(RecordKind.header, { tracer_version: 1, pid: 3 }),
    jsonRecord(RecordKind.names, [[1, "f", "py"]]),
    eventsRecord(3, [[1000, 1000, 1]]),
    odd,
    after,
    zeroTail(4096),
  ));
  assert.equal(result.events, 1);
  assert.equal(result.truncatedBytes, odd.length + after.length);
  assert.deepEqual(JSON.parse(text).tracerEnd, {
    first_ts: 1,
    exit: "killed",
    events: 1,
    unfinished: 0,
    end_mono_ns: 2000,
    truncated_bytes: odd.length + after.length,
  });
});

Deno.test("large clocks are written digit for digit", async () => {
  const starts = [2_110_839_838_873_001, 100_000_000_000, 99_999_999_999, 9_007_199_254_740_000];
  const { text } = await convertBytes(rawFile(
    jsonRecord(RecordKind.header, { tracer_version: 1, pid: 3 }),
    jsonRecord(RecordKind.names, [[1, "f", "py"]]),
    eventsRecord(3, starts.map((start) => [start, start % 1_000_000_007, 1])),
  ));
  const got = [...text.matchAll(/"ts":([\d.]+),"dur":([\d.]+),/g)].map((m) => [m[1], m[2]]);
  assert.deepEqual(
    got,
    starts.map((start) => [microseconds(start), microseconds(start % 1_000_000_007)]),
  );
  assert.equal(got[0][0], "2110839838873.001");
});

Deno.test("microseconds: integer ns to three decimals", () => {
  assert.equal(microseconds(0), "0.000");
  assert.equal(microseconds(7), "0.007");
  assert.equal(microseconds(1_234_560), "1234.560");
  assert.equal(microseconds(9_007_199_254_740_991), "9007199254740.991");
});

Deno.test("tracerEndText: the reader's counts replace the shim's; every other member is kept", () => {
  const summary = { events: 3, unfinished: 1, minNs: 10, endNs: 5, leftover: 0, leftOut: 0 };
  assert.equal(
    tracerEndText({
      ...summary,
      endText: '{ "exit" : "signal:SIGTERM", "lost":"a, b } \\"c\\" [\\\\",' +
        '"nested":{"events":1,"x":[1,{"y":"}"}]},"events":9,"big":12345678901234567890,' +
        '"first_ts":1,"events":8}',
    }),
    '{"first_ts":0.010,"exit" : "signal:SIGTERM","lost":"a, b } \\"c\\" [\\\\",' +
      '"nested":{"events":1,"x":[1,{"y":"}"}]},"events":3,"big":12345678901234567890,' +
      '"unfinished":1}',
  );
  assert.equal(
    tracerEndText({ ...summary, endText: "{}", minNs: Infinity }),
    '{"events":3,"unfinished":1}',
  );
  assert.equal(
    tracerEndText({ ...summary, endText: undefined, endNs: undefined, leftover: 12 }),
    '{"first_ts":0.010,"exit":"killed","events":3,"unfinished":1,"truncated_bytes":12}',
  );
});

Deno.test("tracerEndText: the calls the event cap left out are added to dropped_events", () => {
  const summary = { events: 3, unfinished: 0, minNs: Infinity, endNs: 5, leftover: 0, leftOut: 7 };
  assert.equal(
    tracerEndText({ ...summary, endText: '{"exit":"exit","dropped_events":2,"deepest_stack":4}' }),
    '{"exit":"exit","dropped_events":9,"deepest_stack":4,"events":3,"unfinished":0}',
  );
  assert.equal(
    tracerEndText({ ...summary, endText: '{"exit":"exit"}' }),
    '{"exit":"exit","dropped_events":7,"events":3,"unfinished":0}',
  );
  assert.equal(
    tracerEndText({ ...summary, endText: undefined }),
    '{"exit":"killed","events":3,"unfinished":0,"dropped_events":7,"end_mono_ns":5,' +
      '"truncated_bytes":0}',
  );
});
