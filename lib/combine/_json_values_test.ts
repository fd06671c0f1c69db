import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseNumber } from "./_json_values.ts";

const encoder = new TextEncoder();

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
