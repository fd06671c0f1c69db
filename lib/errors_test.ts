import assert from "node:assert/strict";
import { terminalText } from "./errors.ts";

Deno.test("terminalText quotes every control character and keeps the rest", () => {
  assert.equal(
    terminalText("phase \u001b[2J\u001b]0;pwned\u0007 in a\nb\tc\r\u007f\u009b é ✓"),
    "phase \\x1b[2J\\x1b]0;pwned\\x07 in a\\nb\\tc\\r\\x7f\\u009b é ✓",
  );
  assert.equal(terminalText("tracer: 2 processes -> out.json"), "tracer: 2 processes -> out.json");
});
