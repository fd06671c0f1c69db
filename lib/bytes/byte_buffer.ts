/**
 * A growable byte buffer for building output text without a string per piece.
 * @module
 */
import { writeWholeNumber } from "./ascii_number.ts";

/** Growable output bytes for one chunk of events. */
export class ByteBuffer {
  bytes: Uint8Array;
  length = 0;

  /** An empty buffer of `capacity` bytes (it grows when needed). */
  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Makes room for `extra` more bytes after `length`. */
  reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  /** Appends `source[start, end)`. */
  copy(source: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    if (end - start < 64) {
      const bytes = this.bytes;
      let at = this.length;
      for (let i = start; i < end; i++) bytes[at++] = source[i];
    } else {
      this.bytes.set(source.subarray(start, end), this.length);
    }
    this.length += end - start;
  }

  /** Writes `ns / 1000` exactly as `String(ns / 1000)` would, for an integer `ns` below 2^53. */
  thousandths(ns: number): void {
    this.reserve(24);
    const bytes = this.bytes;
    let at = this.length;
    if (ns < 0) {
      bytes[at++] = 0x2d;
      ns = -ns;
    }
    const whole = Math.floor(ns / 1000);
    const fraction = ns - whole * 1000;
    at = writeWholeNumber(bytes, at, whole);
    if (fraction !== 0) {
      const hundreds = (fraction / 100) | 0;
      const rest = fraction - hundreds * 100;
      const tens = (rest / 10) | 0;
      const ones = rest - tens * 10;
      bytes[at++] = 0x2e;
      bytes[at++] = 0x30 + hundreds;
      if (rest !== 0) bytes[at++] = 0x30 + tens;
      if (ones !== 0) bytes[at++] = 0x30 + ones;
    }
    this.length = at;
  }

  /** Appends a string of code points below 256. */
  ascii(text: string): void {
    this.reserve(text.length);
    for (let i = 0; i < text.length; i++) this.bytes[this.length++] = text.charCodeAt(i);
  }

  /** The bytes so far, valid until the next-but-one `take` (two buffers take turns). */
  take(): Uint8Array {
    const out = this.bytes.subarray(0, this.length);
    const spare = this.#spare;
    this.#spare = this.bytes;
    this.bytes = spare !== undefined && spare.length >= this.bytes.length
      ? spare
      : new Uint8Array(this.bytes.length);
    this.length = 0;
    return out;
  }

  #spare: Uint8Array | undefined;
}
