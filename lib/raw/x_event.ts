/**
 * The X event text of a raw file's calls, as the converted per-process file has it (and as
 * combining raw files directly writes it): `{"ph":"X","pid":P,"tid":T,"ts":S,"dur":D,` then the
 * name table's tail (`"name":...,"cat":...}`), times in microseconds with three decimals.
 * @module
 */
import { COMMA } from "../bytes/ascii.ts";
import { writeMicroseconds, writeThousandths } from "../bytes/ascii_number.ts";
import type { ByteBuffer } from "../bytes/byte_buffer.ts";

const encoder = new TextEncoder();
const DUR = encoder.encode(',"dur":');

/** The text every event of one events record starts with, up to its `ts` value. */
export function xEventPrefix(pidText: string, tid: number): Uint8Array {
  return encoder.encode(`{"ph":"X","pid":${pidText},"tid":${tid},"ts":`);
}

/**
 * Appends one X event. `ts` is `startNs` as `"%d.%03d"` microseconds, or, when the event was
 * moved on the timeline, `shiftedNs` as `String(shiftedNs / 1000)` gives it.
 */
export function appendXEvent(
  out: ByteBuffer,
  prefix: Uint8Array,
  startNs: number,
  durNs: number,
  tail: Uint8Array,
  shiftedNs?: number,
): void {
  out.reserve(prefix.length + tail.length + 64);
  const bytes = out.bytes;
  bytes.set(prefix, out.length);
  let at = out.length + prefix.length;
  at = shiftedNs === undefined
    ? writeMicroseconds(bytes, at, startNs)
    : writeThousandths(bytes, at, shiftedNs);
  bytes.set(DUR, at);
  at = writeMicroseconds(bytes, at + DUR.length, durNs);
  bytes[at++] = COMMA;
  bytes.set(tail, at);
  out.length = at + tail.length;
}
