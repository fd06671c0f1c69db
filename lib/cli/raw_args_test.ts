import { throws } from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { refuseNonUtf8Args } from "./raw_args.ts";

const encoder = new TextEncoder();
const cmdline = (...parts: Uint8Array[]) => {
  const out: number[] = [];
  for (const part of parts) out.push(...part, 0);
  return new Uint8Array(out);
};

Deno.test("an argument whose bytes are not UTF-8 is refused, named with its bytes", () => {
  const bad = new Uint8Array([0x61, 0xff, 0x62]);
  throws(
    () =>
      refuseNonUtf8Args(
        ["x.py", "a\ufffdb"],
        cmdline(encoder.encode("/bin/deno"), encoder.encode("x.py"), bad),
      ),
    (error) =>
      error instanceof UsageError &&
      error.message.startsWith("argument 2 (a\\xffb) is not valid UTF-8 text"),
  );
});

Deno.test("UTF-8 arguments, U+FFFD itself included, pass", () => {
  const args = ["x.py", "é", "a\ufffdb"];
  refuseNonUtf8Args(args, cmdline(encoder.encode("tracer"), ...args.map((a) => encoder.encode(a))));
});
