/**
 * Builders of raw per-process trace files (format 2, docs/internals.md, section 2a) for tests.
 * @module
 */
import { concatBytes } from "../bytes/concat.ts";
import { RAW_MAGIC, RecordKind } from "./records.ts";

const encoder = new TextEncoder();

/** One record: kind byte, 3 zero bytes, little-endian payload size, payload, zeros up to 8n. */
export function rawRecord(kind: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + Math.ceil(payload.length / 8) * 8);
  out[0] = kind;
  new DataView(out.buffer).setUint32(4, payload.length, true);
  out.set(payload, 8);
  return out;
}

/** A record whose payload is the JSON text of `value`. */
export function jsonRecord(kind: number, value: unknown): Uint8Array {
  return textRecord(kind, JSON.stringify(value));
}

/** A record whose payload is `text` (JSON or not). */
export function textRecord(kind: number, text: string): Uint8Array {
  return rawRecord(kind, encoder.encode(text));
}

/** Room and fill of a block: `slots` (default: as many as given), `count` (default: all given). */
export interface BlockShape {
  slots?: number;
  count?: number;
}

/**
 * An events block: float64 `tid`, count, then `(start_ns, dur_ns, name_id)` slots. Slots past the
 * given events are zeros; `shape.count` may say fewer (or more) events than given.
 */
export function eventsRecord(
  tid: number,
  events: [number, number, number][],
  shape: BlockShape = {},
): Uint8Array {
  const slots = shape.slots ?? events.length;
  const numbers = new Float64Array(2 + 3 * Math.max(slots, events.length));
  numbers.set([tid, shape.count ?? events.length, ...events.flat()]);
  return rawRecord(RecordKind.events, blockBytes(numbers, 16 + 24 * slots));
}

/**
 * A stack record: int64 `tid`, depth, then `(start_ns, name_id)` slots, outermost call first.
 * Slots past the given calls are zeros; `shape.count` is the depth (default: all given).
 */
export function stackRecord(
  tid: number,
  calls: [number, number][],
  shape: BlockShape = {},
): Uint8Array {
  const slots = shape.slots ?? calls.length;
  const numbers = new BigInt64Array(2 + 2 * Math.max(slots, calls.length));
  numbers.set([tid, shape.count ?? calls.length, ...calls.flat()].map(BigInt));
  return rawRecord(RecordKind.stack, blockBytes(numbers, 16 + 16 * slots));
}

/** The first `size` bytes of a block's numbers (fewer slots than given: the rest left out). */
function blockBytes(numbers: Float64Array | BigInt64Array, size: number): Uint8Array {
  return new Uint8Array(numbers.buffer, 0, size);
}

/** A padding record of `size` payload bytes (zeros). */
export function paddingRecord(size: number): Uint8Array {
  return rawRecord(RecordKind.padding, new Uint8Array(size));
}

/** `bytes` zero bytes: the unwritten rest of a killed (or running) process's last segment. */
export function zeroTail(bytes: number): Uint8Array {
  return new Uint8Array(bytes);
}

/** A raw file: the magic line (16 bytes), then the records. */
export function rawFile(...records: Uint8Array[]): Uint8Array {
  return concatBytes([encoder.encode(RAW_MAGIC), ...records]);
}

/**
 * A values block: int64 `tid`, bytes used, then each call's start, duration and name id (float64),
 * its args text's bytes (u32, then 4 zeros) and the text, 8-aligned; `room` bytes more.
 */
export function valuesRecord(
  tid: number,
  calls: [number, number, number, string][],
  room = 0,
): Uint8Array {
  const parts = calls.map(([start, dur, id, text]) => {
    const bytes = encoder.encode(text);
    const part = new Uint8Array(32 + Math.ceil(bytes.length / 8) * 8);
    const view = new DataView(part.buffer);
    view.setFloat64(0, start, true);
    view.setFloat64(8, dur, true);
    view.setFloat64(16, id, true);
    view.setUint32(24, bytes.length, true);
    part.set(bytes, 32);
    return part;
  });
  const used = parts.reduce((sum, part) => sum + part.length, 0);
  const payload = new Uint8Array(16 + used + room);
  const view = new DataView(payload.buffer);
  view.setBigInt64(0, BigInt(tid), true);
  view.setBigInt64(8, BigInt(used), true);
  payload.set(concatBytes(parts), 16);
  return rawRecord(RecordKind.values, payload);
}

/**
 * An open-call arguments record: int64 `tid`, slots, then a 512-byte slot per depth (u32 text
 * bytes, u32 name id, the text); `slots[depth]` is `[nameId, text]`, or null for an empty slot.
 */
export function openArgsRecord(tid: number, slots: ([number, string] | null)[]): Uint8Array {
  const payload = new Uint8Array(16 + 512 * slots.length);
  const view = new DataView(payload.buffer);
  view.setBigInt64(0, BigInt(tid), true);
  view.setBigInt64(8, BigInt(slots.length), true);
  slots.forEach((slot, depth) => {
    if (slot === null) return;
    const text = encoder.encode(slot[1]);
    view.setUint32(16 + 512 * depth, text.length, true);
    view.setUint32(16 + 512 * depth + 4, slot[0], true);
    payload.set(text, 16 + 512 * depth + 8);
  });
  return rawRecord(RecordKind.openArgs, payload);
}
