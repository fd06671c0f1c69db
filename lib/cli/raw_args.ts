/**
 * Arguments that are not valid UTF-8: Deno hands them over with U+FFFD in place of the bad bytes,
 * and a child process can only be given text, so tracer cannot pass such an argument unchanged.
 * It refuses it instead of changing it silently (Linux reads the real bytes in /proc/self/cmdline).
 * @module
 */
import { UsageError } from "../errors.ts";

/**
 * Throws a `UsageError` naming the first of `args` (tracer's own argv, `Deno.args`) whose bytes
 * are not valid UTF-8. `cmdline` is the process's NUL-separated command line (for tests).
 */
export function refuseNonUtf8Args(args: readonly string[], cmdline = readCmdline()): void {
  if (cmdline === null) return;
  const all = splitNul(cmdline);
  const raw = all.slice(all.length - args.length);
  if (raw.length !== args.length) return;
  const strict = new TextDecoder("utf-8", { fatal: true });
  for (const [index, bytes] of raw.entries()) {
    try {
      strict.decode(bytes);
    } catch {
      throw new UsageError(
        `argument ${index + 1} (${
          shown(bytes)
        }) is not valid UTF-8 text, which tracer cannot pass on unchanged; rename the file or pass the value another way`,
      );
    }
  }
}

function readCmdline(): Uint8Array | null {
  if (Deno.build.os !== "linux") return null;
  try {
    return Deno.readFileSync("/proc/self/cmdline");
  } catch {
    return null;
  }
}

function splitNul(bytes: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0) continue;
    parts.push(bytes.subarray(start, i));
    start = i + 1;
  }
  if (start < bytes.length) parts.push(bytes.subarray(start));
  return parts;
}

/** The bytes as ASCII with `\xNN` escapes, at most ~60 characters. */
function shown(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes.subarray(0, 60)) {
    text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16)}`;
  }
  return bytes.length > 60 ? text + "..." : text;
}
