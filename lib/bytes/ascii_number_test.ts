import assert from "node:assert/strict";
import { writeWholeNumber } from "./ascii_number.ts";

Deno.test("whole numbers up to 2^53 are written digit for digit", () => {
  const buf = new Uint8Array(32);
  for (
    const value of [0, 7, 10, 99_999_999, 100_000_000, 100_000_007, 3_000_000_123_456, 2 ** 53 - 1]
  ) {
    const end = writeWholeNumber(buf, 3, value);
    assert.equal(new TextDecoder().decode(buf.subarray(3, end)), String(value));
  }
});
