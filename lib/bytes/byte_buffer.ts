/**
 * A growable byte buffer for building output text without a string per piece: the combined JSON
 * events and the converter's per-process file are written through it.
 * @module
 */
import { writeThousandths } from "./ascii_number.ts";

const encoder = new TextEncoder();

/** Growable output bytes; `bytes[0, length)` is the content. */
export class ByteBuffer {
  /** The storage; replaced when it grows, so read it after `reserve`. */
  bytes: Uint8Array;
  /** Bytes used. */
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
    this.length = writeThousandths(this.bytes, this.length, ns);
  }

  /** Appends a string of code points below 256. */
  ascii(text: string): void {
    this.reserve(text.length);
    for (let i = 0; i < text.length; i++) this.bytes[this.length++] = text.charCodeAt(i);
  }

  /** Appends any string as UTF-8. */
  text(text: string): void {
    const bytes = encoder.encode(text);
    this.copy(bytes, 0, bytes.length);
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
