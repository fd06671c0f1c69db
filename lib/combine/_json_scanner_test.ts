import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import {
  locateFields,
  SPAN_END,
  SPAN_PHASE,
  SPAN_PID,
  SPAN_PID_END,
  SPAN_START,
  SPAN_STRIDE,
  SPAN_TID,
  SPAN_TID_END,
  SPAN_TS,
  SPAN_TS_END,
  type TraceFileInfo,
  TraceScanner,
} from "./_json_scanner.ts";
import { asciiText, EventParser } from "./_json_values.ts";
import type { TraceEvent } from "../trace_event.ts";
import { EVENTS, LAYOUTS } from "./testing.ts";

const encoder = new TextEncoder();

/** Runs the scanner over `text` cut into chunks of `chunkSize` bytes. */
function scan(text: string | Uint8Array, chunkSize = 1 << 20): {
  events: TraceEvent[];
  info: TraceFileInfo;
} {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  const scanner = new TraceScanner();
  const parser = new EventParser();
  const events: TraceEvent[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunkSize) {
    scanner.feed(
      bytes.slice(offset, offset + chunkSize),
      (chunk, spans) => parser.parse(chunk, spans, events),
    );
  }
  return { events, info: scanner.finish(parser) };
}

for (const [layout, text] of Object.entries(LAYOUTS)) {
  Deno.test(`reader: ${layout} yields every event at any chunk size`, () => {
    for (const chunkSize of [1, 2, 3, 7, 64, 1 << 20]) {
      const { events, info } = scan(text, chunkSize);
      assertEquals(events, EVENTS, `chunk size ${chunkSize}`);
      assertEquals(info.damage, undefined);
      assertEquals(info.events, 4);
      assertEquals(info.truncated, false);
    }
  });
}

Deno.test("reader: top-level keys before and after the array become metadata", () => {
  const { info } = scan(LAYOUTS["tracer shim (one per line)"], 5);
  assertEquals(info.form, "object");
  assertEquals(info.metadata, { otherData: { pid: 1 }, tracerEnd: { events: 4 } });
  const pretty = scan(LAYOUTS["pretty-printed"], 3).info;
  assertEquals(pretty.metadata, { before: 1, after: [1, 2] });
  assertEquals(scan(LAYOUTS["bare array"]).info.form, "array");
});

Deno.test("reader: a byte order mark is skipped", () => {
  const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode(LAYOUTS["bare array"])]);
  assertEquals(scan(bytes).events, EVENTS);
});

Deno.test("reader: truncation keeps every complete event and says how much was lost", () => {
  const text = LAYOUTS["tracer shim (one per line)"];
  const cuts: Record<string, { at: number; events: number }> = {
    "inside a string": { at: text.indexOf("hi") + 1, events: 0 },
    "after a comma": { at: text.indexOf("},\n") + 2, events: 1 },
    "inside a nested args object": { at: text.indexOf('{"b"') + 3, events: 1 },
    "inside an escape": { at: text.indexOf("\\\\slash") + 1, events: 1 },
    "before the last event": { at: text.lastIndexOf('{"ph":"M"'), events: 3 },
    "inside the trailing metadata": { at: text.indexOf('"tracerEnd"') + 5, events: 4 },
  };
  for (const [where, { at, events: kept }] of Object.entries(cuts)) {
    for (const chunkSize of [1, 5, 1 << 20]) {
      const { events, info } = scan(text.slice(0, at), chunkSize);
      assertEquals(events, EVENTS.slice(0, kept), where);
      assertEquals(info.truncated, true, where);
      assertMatch(info.damage ?? "", /truncated/, where);
      assertMatch(info.damage ?? "", new RegExp(`kept ${kept} events`), where);
    }
  }
  const inside = scan(text.slice(0, text.indexOf("hi") + 1)).info;
  const lost = encoder.encode(text.slice(text.indexOf("[\n") + 1, text.indexOf("hi") + 1)).length;
  assertEquals(inside.lostBytes, lost);
  assertMatch(
    inside.damage ?? "",
    new RegExp(`lost the last ${lost} bytes \\(1 incomplete event\\)`),
  );
});

Deno.test("reader: garbage, empty and non-trace JSON give one clear damage line", () => {
  assertEquals(scan("").info.damage, "the file is empty");
  assertEquals(scan(" \n").info.damage, "the file holds only whitespace");
  assertMatch(scan("hello world").info.damage ?? "", /not JSON trace data/);
  assertMatch(scan("\x00\x00\x00").info.damage ?? "", /not JSON trace data/);
  assertEquals(scan('{"a":1}').info.damage, "no traceEvents array in this JSON object");
  // cut before any array: said so (it once read "lost 0 bytes of trailing metadata")
  assertEquals(scan("{").info.damage, "truncated before its traceEvents array: no events in it");
  assertEquals(
    scan('{"traceEvents":[{"ph":"X","ts":1}]').info.damage,
    "truncated after the event array: kept 1 events",
  );
  const midGarbage = scan('[{"ph":"X","ts":1},{"ph":"X","ts":2}} junk');
  assertEquals(midGarbage.events.length, 2);
  assertMatch(midGarbage.info.damage ?? "", /unexpected '}' at byte 36: kept 2 events/);
  const badElements = scan('[{"ph":"X","ts":1}, 5, "x", {"ts":3}, {"ph":"X",ts:4}, {"ph":"B"}]');
  assertEquals(badElements.events, [{ ph: "X", ts: 1 }, { ph: "B" }]);
  assertEquals(badElements.info.skipped, 4);
  assertMatch(badElements.info.damage ?? "", /4 array elements were not valid trace events/);
  assertMatch(scan('{"traceEvents":[]} trailing').info.damage ?? "", /unexpected text after/);
});

Deno.test("fields: top-level ts, pid, tid and ph are found, nested ones are not", () => {
  const text = '{"args":{"ts":1,"pid":2},"name":"\\"ts\\":3","ph":"X", "pid" : "p1" ,' +
    '"tid":7,"ts":12.5e1}';
  const bytes = encoder.encode(text);
  const check = (span: number[], where: string) => {
    assertEquals(asciiText(bytes, span[SPAN_TS], span[SPAN_TS_END]), "12.5e1", where);
    assertEquals(asciiText(bytes, span[SPAN_PID], span[SPAN_PID_END]), '"p1"', where);
    assertEquals(asciiText(bytes, span[SPAN_TID], span[SPAN_TID_END]), "7", where);
    assertEquals(String.fromCharCode(span[SPAN_PHASE]), "X", where);
  };
  const single = new Array(SPAN_STRIDE).fill(0);
  assert(locateFields(bytes, 0, bytes.length, single));
  check(single, "locateFields");
  // The scanner finds the same fields while it splits the array, at any chunk size.
  const array = encoder.encode(`[${text},${text}]`);
  for (const chunkSize of [1, 9, 40, 1 << 20]) {
    const scanner = new TraceScanner();
    const spans: number[] = [];
    for (let offset = 0; offset < array.length; offset += chunkSize) {
      scanner.feed(array.slice(offset, offset + chunkSize), (chunk, found) => {
        for (let k = 0; k < found.length; k += SPAN_STRIDE) {
          const span = found.slice(k, k + SPAN_STRIDE);
          const element = chunk.subarray(span[SPAN_START], span[SPAN_END]);
          assertEquals(new TextDecoder().decode(element), text);
          // Re-base the offsets on the element alone to compare with `bytes`.
          spans.push(...span.map((value, index) => index === SPAN_PHASE ? value : value - span[0]));
        }
      });
    }
    assertEquals(spans.length, 2 * SPAN_STRIDE, `chunk size ${chunkSize}`);
    check(spans.slice(0, SPAN_STRIDE), `chunk size ${chunkSize}`);
    check(spans.slice(SPAN_STRIDE), `chunk size ${chunkSize}`);
  }
  const noPhase = encoder.encode('{"ts":1,"ph":""}');
  assertEquals(locateFields(noPhase, 0, noPhase.length, single), false);
});

Deno.test("reader: random events with escapes split at random chunk sizes read back exactly", () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const alphabet = ['"', "\\", "[", "]", "{", "}", ",", ":", "é", "🚀", "\n", "a", " ", "/"];
  const text = () =>
    Array.from(
      { length: Math.floor(random() * 12) },
      () => alphabet[Math.floor(random() * alphabet.length)],
    ).join("");
  const events: TraceEvent[] = Array.from({ length: 300 }, (_, i) => ({
    ph: random() < 0.1 ? "M" : "X",
    name: text(),
    pid: i % 3,
    tid: text(),
    ts: Math.round(random() * 1e9) / 1000,
    args: random() < 0.3 ? { [text()]: [text(), { deep: text() }] } : undefined,
  })).map((event) => JSON.parse(JSON.stringify(event)));
  const whole = encoder.encode(JSON.stringify({ traceEvents: events, meta: text() }));
  for (let round = 0; round < 20; round++) {
    const chunkSize = 1 + Math.floor(random() * 200);
    const { events: read, info } = scan(whole, chunkSize);
    assertEquals(read, events, `chunk size ${chunkSize}`);
    assertEquals(info.damage, undefined);
  }
});

Deno.test("a key over the limit is named by the byte its quote is at, not the chunk's", () => {
  const head = '{"traceEvents":[{"ph":"X","pid":1,"tid":1,"ts":1,"dur":1,"name":"a"}],"';
  const bytes = encoder.encode(head + "k".repeat((20 << 20) + 10) + '":1}');
  const { events, info } = scan(bytes, 1 << 20);
  assertEquals(events.length, 1);
  assertMatch(
    info.damage ?? "",
    new RegExp(`a key longer than 16 MiB at byte ${head.length - 1}\\b`),
  );
});
