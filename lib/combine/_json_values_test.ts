import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { locateFields, SPAN_STRIDE } from "./_json_scanner.ts";
import { parseNumber, SeenThreads } from "./_json_values.ts";

const encoder = new TextEncoder();

Deno.test("SeenThreads: new only the first time, by the bytes of pid and tid", () => {
  const lines = [
    '{"ph":"X","pid":1,"tid":12}',
    '{"ph":"X","pid":11,"tid":2}',
    '{"ph":"X","pid":1}',
  ];
  const seen = new SeenThreads();
  const isNew = (line: string) => {
    const bytes = encoder.encode(line);
    const span = new Array(SPAN_STRIDE).fill(0);
    assert(locateFields(bytes, 0, bytes.length, span));
    return seen.isNew(bytes, span, 0);
  };
  // "1" + "12" and "11" + "2" hold the same bytes: they are still two threads.
  assertEquals(lines.map(isNew), [true, true, true]);
  assertEquals([...lines, ...lines].map(isNew), [false, false, false, false, false, false]);
  assertEquals(isNew('{"ph":"X","pid":"1","tid":12}'), true);
});

Deno.test("parseNumber reads JSON numbers as Number does, to the nanosecond", () => {
  const texts = [
    "0",
    "7",
    "-3",
    "1234567.891",
    "5000100.5",
    "123456789012.345",
    "0.001",
    "12.5e1",
    "1E3",
    "-0.25",
    "1.0000000000000002",
    "98765432109876543",
  ];
  for (const text of texts) {
    const value = parseNumber(encoder.encode(text), 0, text.length);
    assertEquals(Math.round(value * 1000), Math.round(Number(text) * 1000), text);
  }
  assert(Number.isNaN(parseNumber(encoder.encode("x1"), 0, 2)));
});
