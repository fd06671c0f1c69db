/**
 * Builders of raw per-process trace files (docs/internals.md, section 2a) for tests.
 * @module
 */
import { concatBytes } from "../bytes/concat.ts";
import { RAW_MAGIC, RecordKind } from "./records.ts";

const encoder = new TextEncoder();

/** One record: kind byte, little-endian payload length, payload. */
export function rawRecord(kind: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  out[0] = kind;
  new DataView(out.buffer).setUint32(1, payload.length, true);
  out.set(payload, 5);
  return out;
}

/** A record whose payload is the JSON text of `value`. */
export function jsonRecord(kind: number, value: unknown): Uint8Array {
  return rawRecord(kind, encoder.encode(JSON.stringify(value)));
}

/** An events record: `tid`, then (start_ns, dur_ns, name_id) per call, as float64. */
export function eventsRecord(tid: number, events: [number, number, number][]): Uint8Array {
  return rawRecord(
    RecordKind.events,
    new Uint8Array(new Float64Array([tid, ...events.flat()]).buffer),
  );
}

/** A raw file: the magic line, then the records. */
export function rawFile(...records: Uint8Array[]): Uint8Array {
  return concatBytes([encoder.encode(RAW_MAGIC), ...records]);
}
