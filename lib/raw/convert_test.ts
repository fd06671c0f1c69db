import assert from "node:assert/strict";
import { join } from "node:path";
import { TracerError } from "../errors.ts";
import { concatBytes as concat } from "../bytes/concat.ts";
import { convertRawFile, microseconds } from "./convert.ts";
import { RAW_MAGIC, RecordKind } from "./records.ts";
import { eventsRecord, jsonRecord, rawRecord as record } from "./testing.ts";

const encoder = new TextEncoder();

const HEADER_TEXT =
  '{"tracer_version":1,"pid":7,"clock":{"epoch_ns":1732719734123456789,"mono_ns":5},' +
  '"exec_of":"result_7.raw"}';

/** A complete raw file: header, names, two events records, meta, end. */
function sampleParts(): Uint8Array[] {
  return [
    encoder.encode(RAW_MAGIC),
    record(RecordKind.header, encoder.encode(HEADER_TEXT)),
    jsonRecord(RecordKind.names, [[1, "f (/a.py:1)", "py"], [2, "time.sleep", "c"]]),
    eventsRecord(70, [[1_000_005, 2_000, 2], [1_000_000, 10_050, 1]]),
    eventsRecord(71, [[1_500_000, 999, 1]]),
    eventsRecord(70, [[2_000_000, 42, -1]]),
    jsonRecord(RecordKind.meta, [
      { ph: "M", pid: 7, tid: 70, name: "process_name", args: { name: "python3 a.py" } },
      { ph: "M", pid: 7, tid: 70, name: "thread_name", args: { name: "MainThread" } },
    ]),
    record(
      RecordKind.end,
      encoder.encode('{"exit":"exit","events":4,"dropped_events":0,"unfinished":1}'),
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
  const { result, text } = await convertBytes(concat(sampleParts()));
  assert.deepEqual(result, { written: true, events: 4, truncatedBytes: 0, ended: true });
  const header = HEADER_TEXT.replace("result_7.raw", "result_7.json");
  assert.equal(
    text,
    `{"otherData":${header},"traceEvents":[
{"ph":"X","pid":7,"tid":70,"ts":1000.005,"dur":2.000,"name":"time.sleep","cat":"c"},
{"ph":"X","pid":7,"tid":70,"ts":1000.000,"dur":10.050,"name":"f (/a.py:1)","cat":"py"},
{"ph":"X","pid":7,"tid":71,"ts":1500.000,"dur":0.999,"name":"f (/a.py:1)","cat":"py"},
{"ph":"X","pid":7,"tid":70,"ts":2000.000,"dur":0.042,"name":"f (/a.py:1)","cat":"py","args":{"unfinished":true}},
{"ph":"M","pid":7,"tid":70,"name":"process_name","args":{"name":"python3 a.py"}},
{"ph":"M","pid":7,"tid":70,"name":"thread_name","args":{"name":"MainThread"}}
],"tracerEnd":{"first_ts":1000.000,"exit":"exit","events":4,"dropped_events":0,"unfinished":1}}
`,
  );
  assert.match(text, /"epoch_ns":1732719734123456789,/, "large integers keep every digit");
});

Deno.test("a file cut at any byte converts to valid JSON holding its complete records", async () => {
  const parts = sampleParts();
  const whole = concat(parts);
  const ends: number[] = [];
  for (let i = 0, at = 0; i < parts.length; i++) ends.push(at += parts[i].length);
  const eventsBefore = (cut: number) => {
    const complete = ends.filter((end) => end <= cut).length; // magic, header, names, ...
    return [0, 0, 0, 2, 3, 4, 4, 4][complete - 1] ?? 0;
  };
  for (let cut = 0; cut < whole.length; cut++) {
    const { result, text } = await convertBytes(whole.subarray(0, cut));
    if (cut < ends[1]) {
      assert.equal(result.written, false, `cut at ${cut}: no header, no file`);
      continue;
    }
    const parsed = JSON.parse(text);
    const lastEnd = Math.max(...ends.filter((end) => end <= cut));
    const x = parsed.traceEvents.filter((e: { ph: string }) => e.ph === "X");
    assert.equal(x.length, eventsBefore(cut), `cut at ${cut}`);
    assert.equal(result.events, x.length);
    assert.equal(result.ended, false);
    assert.deepEqual(parsed.tracerEnd, {
      ...(x.length > 0 ? { first_ts: 1000 } : {}),
      exit: "killed",
      events: x.length,
      truncated_bytes: cut - lastEnd,
    });
    assert.equal(parsed.otherData.exec_of, "result_7.json");
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
  const { text } = await convertBytes(concat([
    encoder.encode(RAW_MAGIC),
    jsonRecord(RecordKind.header, { tracer_version: 1, pid: 3 }),
    jsonRecord(RecordKind.names, hostile.map((name, i) => [i + 1, name, "py"])),
    eventsRecord(3, hostile.map((_, i) => [i * 10_000, 5, i + 1] as [number, number, number])),
  ]));
  const lines = text.split("\n");
  assert.equal(lines.length, 2 + hostile.length + 1, "one event a line: no raw newline in names");
  const names = JSON.parse(text).traceEvents.map((e: { name: string }) => e.name);
  assert.deepEqual(names, shown);
  assert.ok(!text.includes("\u0000") && !text.includes("\u2028"), "control characters escaped");
  assert.ok(text.includes('"\\"é 漢字 😀"'), "non-ASCII as raw UTF-8, after an escaped quote");
  assert.doesNotMatch(text.replaceAll("\\\\", ""), /\\u[dD][89a-fA-F]/, "no surrogate escape");
});

Deno.test("bad input: a foreign file is refused, an empty one writes nothing", async () => {
  await assert.rejects(
    () => convertBytes(encoder.encode('{"traceEvents":[]}')),
    (error) => error instanceof TracerError && /not a tracer raw trace file/.test(error.message),
  );
  const { result } = await convertBytes(new Uint8Array(0));
  assert.equal(result.written, false);
});

Deno.test("a damaged events record stops the conversion there, counted as truncated", async () => {
  const odd = record(RecordKind.events, new Uint8Array(8 * 3)); // tid + 2 numbers: no triple
  const { result, text } = await convertBytes(concat([
    encoder.encode(RAW_MAGIC),
    jsonRecord(RecordKind.header, { tracer_version: 1, pid: 3 }),
    jsonRecord(RecordKind.names, [[1, "f", "py"]]),
    eventsRecord(3, [[1000, 1000, 1]]),
    odd,
    eventsRecord(3, [[5000, 1000, 1]]),
  ]));
  assert.equal(result.events, 1);
  assert.equal(result.truncatedBytes, odd.length + 5 + 32);
  assert.equal(JSON.parse(text).tracerEnd.truncated_bytes, result.truncatedBytes);
});

Deno.test("large clocks are written digit for digit", async () => {
  const starts = [2_110_839_838_873_001, 100_000_000_000, 99_999_999_999, 9_007_199_254_740_000];
  const { text } = await convertBytes(concat([
    encoder.encode(RAW_MAGIC),
    jsonRecord(RecordKind.header, { tracer_version: 1, pid: 3 }),
    jsonRecord(RecordKind.names, [[1, "f", "py"]]),
    eventsRecord(3, starts.map((start) => [start, start % 1_000_000_007, 1])),
  ]));
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
