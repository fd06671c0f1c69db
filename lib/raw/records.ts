/**
 * Reading the binary per-process file the Python shim writes (`result_<pid>.raw`,
 * docs/internals.md, section 2a): its records one at a time, and the one loop that hands each kind
 * of record to a {@linkcode RecordVisitor}.
 * @module
 */
import { TracerError } from "../errors.ts";
import type { TraceEvent } from "../trace_event.ts";
import type { NameTable } from "./names.ts";

/** The first bytes of every raw file. */
export const RAW_MAGIC = "TRACER-RAW 1\n";

/** Record kinds: one ASCII byte before each record's 4-byte little-endian payload length. */
export const RecordKind = {
  header: 0x48, // "H": JSON object, otherData
  names: 0x4e, // "N": JSON array of [id, name, cat]
  events: 0x45, // "E": float64 LE: tid, then (start_ns, dur_ns, name_id) per event
  meta: 0x4d, // "M": JSON array of M events
  end: 0x54, // "T": JSON object, tracerEnd
} as const;

const HEADER_BYTES = 5;
const READ_BYTES = 1 << 20;
/** The largest record read (its length field can claim up to 4 GiB): past it, the file is damaged. */
const MAX_RECORD_BYTES = 256 << 20;

/** One record of a raw file; the payload is only valid until the next record is read. */
export interface RawRecord {
  kind: number;
  payload: Uint8Array;
}

/** One pass over a raw file: its header, then the records after it. Dispose to close it. */
export interface RawPass extends Disposable {
  /** The header's JSON text (`otherData`); undefined when the file holds no complete header. */
  header: string | undefined;
  /**
   * The records after the header, in order. Stops before a cut-off last record, an unknown kind
   * or an events record that is not tid + whole triples.
   */
  records(): AsyncGenerator<RawRecord>;
  /** Bytes not used (a cut-off or damaged record and all after it); final after `records`. */
  readonly leftover: number;
}

/** Opens `rawPath` and reads its header; throws a TracerError if it is unreadable or foreign. */
export async function openRawTrace(rawPath: string): Promise<RawPass> {
  let input: Deno.FsFile;
  try {
    input = await Deno.open(rawPath, { read: true });
  } catch (error) {
    throw new TracerError(`cannot read trace data ${rawPath}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const reader = new RecordReader(input);
  let header: string | undefined;
  try {
    const magic = await reader.magic();
    if (magic === "bad") {
      throw new TracerError(`${rawPath} is not a tracer raw trace file (bad magic line)`);
    }
    const first = magic === "ok" ? await reader.next() : null;
    if (first !== null && first.kind === RecordKind.header) header = decoder.decode(first.payload);
  } catch (error) {
    input.close();
    throw error;
  }
  return {
    header,
    get leftover() {
      return reader.leftover;
    },
    async *records() {
      if (header === undefined) return;
      for (let rec = await reader.next(); rec !== null; rec = await reader.next()) {
        if (!isWhole(rec)) {
          reader.stop(rec.payload.length + HEADER_BYTES);
          return;
        }
        yield rec;
      }
    },
    [Symbol.dispose]() {
      input.close();
    },
  };
}

function isWhole(rec: RawRecord): boolean {
  switch (rec.kind) {
    case RecordKind.events: {
      const length = rec.payload.length;
      return length % 8 === 0 && (length / 8 - 1) % 3 === 0;
    }
    case RecordKind.names:
    case RecordKind.meta:
    case RecordKind.end:
      return true;
    default:
      return false;
  }
}

/** The numbers of an events record: tid, then (start_ns, dur_ns, name_id) per event. */
export function eventNumbers(payload: Uint8Array): Float64Array {
  return payload.byteOffset % 8 === 0
    ? new Float64Array(payload.buffer, payload.byteOffset, payload.length / 8)
    : new Float64Array(payload.slice().buffer);
}

/** What a pass over a raw file does with its records; names records go to its name table. */
export interface RecordVisitor {
  /** The names read so far (the visitor may read them from `events`). */
  readonly names: NameTable;
  /** Events `numbers[from, to)` of one events record (`numbers[0]` is the tid). */
  onEvents(numbers: Float64Array, from: number, to: number): void;
  /** The metadata events of one metadata record. */
  onMeta(events: TraceEvent[]): void;
  /** The end record's JSON text. */
  onEnd(text: string): void;
}

/**
 * Reads every record after the header, handing each to `visitor`; yields after each record, and
 * within an events record after each `batchEvents` events.
 */
export async function* visitRecords(
  pass: RawPass,
  visitor: RecordVisitor,
  batchEvents = Infinity,
): AsyncGenerator<void> {
  for await (const rec of pass.records()) {
    switch (rec.kind) {
      case RecordKind.events: {
        const numbers = eventNumbers(rec.payload);
        const step = Math.min(numbers.length, 3 * batchEvents);
        for (let from = 1; from < numbers.length; from += step) {
          visitor.onEvents(numbers, from, Math.min(numbers.length, from + step));
          if (from + step < numbers.length) yield;
        }
        break;
      }
      case RecordKind.names:
        visitor.names.add(JSON.parse(decoder.decode(rec.payload)));
        break;
      case RecordKind.meta:
        visitor.onMeta(metaEvents(rec.payload));
        break;
      case RecordKind.end:
        visitor.onEnd(decoder.decode(rec.payload));
        break;
    }
    yield;
  }
}

function metaEvents(payload: Uint8Array): TraceEvent[] {
  const events: unknown = JSON.parse(decoder.decode(payload));
  if (!Array.isArray(events)) throw new Error("a metadata record is not a JSON array");
  return events;
}

const decoder = new TextDecoder();

/** Reads records one at a time from a file. */
class RecordReader {
  #buffer = new Uint8Array(READ_BYTES);
  #start = 0;
  #end = 0;
  #eof = false;
  #leftover = 0;

  constructor(private readonly file: Deno.FsFile) {}

  /** Bytes after the last complete record, known once `next` returned null. */
  get leftover(): number {
    return this.#leftover;
  }

  async magic(): Promise<"ok" | "bad" | "short"> {
    const length = RAW_MAGIC.length;
    await this.#fill(length);
    if (this.#end - this.#start < length) {
      const got = this.#buffer.subarray(this.#start, this.#end);
      return [...got].every((byte, i) => byte === RAW_MAGIC.charCodeAt(i)) ? "short" : "bad";
    }
    for (let i = 0; i < length; i++) {
      if (this.#buffer[this.#start + i] !== RAW_MAGIC.charCodeAt(i)) return "bad";
    }
    this.#start += length;
    return "ok";
  }

  /** The next complete record (its payload valid until the next call), or null at the end. */
  async next(): Promise<{ kind: number; payload: Uint8Array } | null> {
    if (this.#stopped) return null;
    await this.#fill(HEADER_BYTES);
    if (this.#end - this.#start < HEADER_BYTES) return this.#finish();
    const at = this.#start;
    const b = this.#buffer;
    const length = (b[at + 1] | b[at + 2] << 8 | b[at + 3] << 16 | b[at + 4] << 24) >>> 0;
    if (length > MAX_RECORD_BYTES) {
      // Not a record the shim writes (its chunks are a few MB): damage, not a buffer to fill.
      this.stop(0);
      return null;
    }
    await this.#fill(HEADER_BYTES + length);
    if (this.#end - this.#start < HEADER_BYTES + length) return this.#finish();
    const kind = this.#buffer[this.#start];
    const payload = this.#buffer.subarray(
      this.#start + HEADER_BYTES,
      this.#start + HEADER_BYTES + length,
    );
    this.#start += HEADER_BYTES + length;
    return { kind, payload };
  }

  /** Gives up on a damaged record of `bytes` bytes and everything after it. */
  stop(bytes: number): void {
    this.#leftover = bytes + this.#end - this.#start;
    this.#start = this.#end;
    this.#stopped = true;
  }

  #stopped = false;

  #finish(): null {
    if (!this.#stopped) this.#leftover = this.#end - this.#start;
    this.#start = this.#end;
    return null;
  }

  async #fill(wanted: number): Promise<void> {
    while (this.#end - this.#start < wanted && !this.#eof) {
      if (this.#start + wanted > this.#buffer.length) {
        const size = Math.max(this.#buffer.length, wanted + READ_BYTES);
        const next = new Uint8Array(size);
        next.set(this.#buffer.subarray(this.#start, this.#end));
        this.#end -= this.#start;
        this.#start = 0;
        this.#buffer = next;
      }
      const n = await this.file.read(this.#buffer.subarray(this.#end));
      if (n === null) this.#eof = true;
      else this.#end += n;
    }
  }
}
