/**
 * Converts the binary per-process file the Python shim writes (`result_<pid>.raw`) into the
 * per-process JSON file the rest of tracer reads (docs/internals.md, section 2). Streaming: one
 * record in memory at a time, JSON text written in ~1 MB chunks.
 * @module
 */
import { writeWholeNumber } from "../bytes/ascii_number.ts";
import { TracerError } from "../errors.ts";

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

/** What a conversion found. */
export interface ConvertResult {
  /** False when the file holds no complete header: nothing was written. */
  written: boolean;
  /** X events written, unfinished ones included. */
  events: number;
  /** Bytes after the last complete record (a process killed mid-write), or of a damaged record. */
  truncatedBytes: number;
  /** True when the end record was there (the process ended through the shim). */
  ended: boolean;
}

/** Options for {@linkcode convertRawFile}. */
export interface ConvertOptions {
  /**
   * The JSON file name for a raw file name, used to rewrite `otherData.exec_of` and `parent_file`.
   * Default: the same name ending in `.json`.
   */
  jsonName?: (rawName: string) => string;
}

const HEADER_BYTES = 5;
const READ_BYTES = 1 << 20;
const FLUSH_BYTES = 1 << 20;
const MAX_NAME_ID = 1 << 30;

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

/**
 * Writes `jsonPath` (which must not exist yet) from the raw file at `rawPath`. A file cut short
 * still gives complete JSON: every complete record, and a `tracerEnd` with `"exit":"killed"`.
 */
export async function convertRawFile(
  rawPath: string,
  jsonPath: string,
  options: ConvertOptions = {},
): Promise<ConvertResult> {
  const jsonName = options.jsonName ?? defaultJsonName;
  using pass = await openRawTrace(rawPath);
  if (pass.header === undefined) {
    return { written: false, events: 0, truncatedBytes: pass.leftover, ended: false };
  }
  let output: Deno.FsFile;
  try {
    output = await Deno.open(jsonPath, { write: true, createNew: true, mode: 0o644 });
  } catch (error) {
    throw new TracerError(`cannot write ${jsonPath}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const sink = new ByteSink(output);
  try {
    const otherDataText = headerWithJsonNames(pass.header, jsonName);
    const pid = pidOf(otherDataText);
    sink.addText(`{"otherData":${otherDataText},"traceEvents":[`);
    const events = new EventFormatter(pid, sink);
    let endText: string | undefined;
    for await (const rec of pass.records()) {
      if (rec.kind === RecordKind.events) {
        events.addEvents(rec.payload);
      } else if (rec.kind === RecordKind.names) {
        events.names.add(JSON.parse(decoder.decode(rec.payload)));
      } else if (rec.kind === RecordKind.meta) {
        for (const event of JSON.parse(decoder.decode(rec.payload))) {
          events.addLine(JSON.stringify(event));
        }
      } else if (rec.kind === RecordKind.end) {
        endText = decoder.decode(rec.payload);
      }
      await sink.flushIfFull();
    }
    const truncatedBytes = pass.leftover;
    const end = tracerEndText(endText, {
      events: events.count,
      truncatedBytes,
      minNs: events.minNs,
    });
    sink.addText(`\n],"tracerEnd":${end}}\n`);
    await sink.close();
    return { written: true, events: events.count, truncatedBytes, ended: endText !== undefined };
  } catch (error) {
    sink.abandon();
    await Deno.remove(jsonPath).catch(() => {});
    if (error instanceof TracerError) throw error;
    throw new TracerError(`cannot convert ${rawPath}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The pid the events get: `otherData.pid`, or 0 when it is not a number. */
export function pidOf(otherDataText: string): number {
  const pid = (JSON.parse(otherDataText) as Record<string, unknown>).pid;
  return typeof pid === "number" ? pid : 0;
}

/**
 * The `tracerEnd` text of a converted file: the end record (or `"exit":"killed"` with the counts
 * when there is none) with `first_ts`, the earliest event start, in front.
 */
export function tracerEndText(
  endText: string | undefined,
  pass: { events: number; truncatedBytes: number; minNs: number },
): string {
  const end = endText ?? `{"exit":"killed","events":${pass.events},` +
      `"truncated_bytes":${pass.truncatedBytes}}`;
  if (pass.minNs === Infinity) return end;
  const rest = end.trimStart().slice(1).trimStart();
  return `{"first_ts":${microseconds(pass.minNs)}${rest.startsWith("}") ? "" : ","}${rest}`;
}

/** `result_12_1.raw` -> `result_12_1.json`. */
export function defaultJsonName(rawName: string): string {
  return rawName.replace(/\.raw$/, "") + ".json";
}

const decoder = new TextDecoder();

/**
 * The header with the `.raw` names in `exec_of` / `parent_file` replaced by their JSON names, as
 * text: re-serializing it would round its large integers (epoch_ns) through doubles.
 */
export function headerWithJsonNames(
  text: string,
  jsonName: (rawName: string) => string,
): string {
  const otherData = JSON.parse(text) as Record<string, unknown>;
  for (const key of ["exec_of", "parent_file"]) {
    const value = otherData[key];
    if (typeof value !== "string") continue;
    const before = `"${key}":${JSON.stringify(value)}`;
    const at = text.lastIndexOf(before);
    if (at < 0) continue;
    text = text.slice(0, at) + `"${key}":${JSON.stringify(jsonName(value))}` +
      text.slice(at + before.length);
  }
  return text;
}

/** Integer nanoseconds as microseconds with three decimals, by integer math: `1234567` -> `1234.567`. */
export function microseconds(ns: number): string {
  const whole = Math.floor(ns / 1000);
  const frac = ns - whole * 1000;
  return `${whole}.${frac >= 100 ? frac : frac >= 10 ? "0" + frac : "00" + frac}`;
}

/** The names records read so far: name id -> its `name` and `cat`, as text and as bytes. */
export class NameTable {
  #done: Uint8Array[] = []; // name id -> `"name":...,"cat":"py"}`
  #open: Uint8Array[] = []; // name id -> the same, marked unfinished
  #values: { name: string; cat: string }[] = [];

  /** Adds the entries of one names record (a parsed JSON array of `[id, name, cat]`). */
  add(names: unknown): void {
    if (!Array.isArray(names)) throw new Error("a names record is not a JSON array");
    for (const entry of names) {
      const id = Array.isArray(entry) ? entry[0] : undefined;
      if (typeof id !== "number" || !Number.isInteger(id) || id <= 0 || id > MAX_NAME_ID) {
        throw new Error(`bad name id ${JSON.stringify(id)}`);
      }
      const name = String(entry[1]);
      const cat = String(entry[2]);
      const head = `"name":${jsonString(name)},"cat":${jsonString(cat)}`;
      this.#done[id] = encoder.encode(head + "}");
      this.#open[id] = encoder.encode(head + ',"args":{"unfinished":true}}');
      this.#values[id] = { name, cat };
    }
  }

  /** The event's tail from `"name"` to its closing brace, for a name id (negative: unfinished). */
  tail(id: number): Uint8Array {
    return (id > 0 ? this.#done[id] : this.#open[-id]) ?? unknownName(id);
  }

  /** The event's `name` and `cat` for a name id (negative: unfinished). */
  values(id: number): { name: string; cat: string } {
    return this.#values[Math.abs(id)] ?? { name: `(unknown name ${Math.abs(id)})`, cat: "py" };
  }
}

/** Turns names and events records into event lines, writing bytes (no string per event). */
class EventFormatter {
  count = 0;
  /** Earliest event start in ns, Infinity before the first event. */
  minNs = Infinity;
  readonly names = new NameTable();
  #lines = 0;

  constructor(private readonly pid: number, private readonly sink: ByteSink) {}

  /** Formats one (whole) events record. */
  addEvents(payload: Uint8Array): void {
    const numbers = eventNumbers(payload);
    const prefix = encoder.encode(`{"ph":"X","pid":${this.pid},"tid":${numbers[0]},"ts":`);
    const sink = this.sink;
    const names = this.names;
    let minNs = this.minNs;
    for (let i = 1; i < numbers.length; i += 3) {
      const start = numbers[i];
      const name = names.tail(numbers[i + 2]);
      if (start < minNs) minNs = start;
      const buf = sink.reserve(prefix.length + name.length + 64);
      let pos = sink.pos;
      if (this.#lines++ !== 0) buf[pos++] = COMMA;
      buf[pos++] = NEWLINE;
      buf.set(prefix, pos);
      pos = writeMicroseconds(buf, pos + prefix.length, start);
      buf.set(DUR, pos);
      pos = writeMicroseconds(buf, pos + DUR.length, numbers[i + 1]);
      buf[pos++] = COMMA;
      buf.set(name, pos);
      sink.pos = pos + name.length;
    }
    this.minNs = minNs;
    this.count += (numbers.length - 1) / 3;
  }

  addLine(line: string): void {
    this.sink.addText((this.#lines++ === 0 ? "\n" : ",\n") + line);
  }
}

const encoder = new TextEncoder();
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const DUR = encoder.encode(',"dur":');

/** Writes `microseconds(ns)` as ASCII at `pos`; returns the position after it. */
export function writeMicroseconds(buf: Uint8Array, pos: number, ns: number): number {
  const whole = Math.floor(ns / 1000);
  const frac = ns - whole * 1000;
  pos = writeWholeNumber(buf, pos, whole);
  const hundreds = (frac / 100) | 0;
  const tens = ((frac / 10) | 0) - hundreds * 10;
  buf[pos] = 0x2e;
  buf[pos + 1] = 48 + hundreds;
  buf[pos + 2] = 48 + tens;
  buf[pos + 3] = 48 + frac - hundreds * 100 - tens * 10;
  return pos + 4;
}

/** JSON text of a string, with U+2028/2029 escaped too (they end lines for some readers). */
function jsonString(value: unknown): string {
  return JSON.stringify(String(value)).replace(
    /[\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  );
}

function unknownName(id: number): Uint8Array {
  const tail = id < 0 ? ',"args":{"unfinished":true}}' : "}";
  return encoder.encode(`"name":"(unknown name ${Math.abs(id)})","cat":"py"${tail}`);
}

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

/** An output buffer written to the file in chunks of about 1 MB. */
class ByteSink {
  buffer = new Uint8Array(FLUSH_BYTES + 4096);
  pos = 0;
  #full: Uint8Array[] = [];

  constructor(private readonly file: Deno.FsFile) {}

  /** Makes room for `bytes` more bytes at `pos`; returns the (possibly new) buffer. */
  reserve(bytes: number): Uint8Array {
    if (this.pos + bytes > this.buffer.length) {
      this.#full.push(this.buffer.subarray(0, this.pos));
      this.buffer = new Uint8Array(Math.max(FLUSH_BYTES + 4096, bytes));
      this.pos = 0;
    }
    return this.buffer;
  }

  addText(text: string): void {
    const bytes = encoder.encode(text);
    this.reserve(bytes.length).set(bytes, this.pos);
    this.pos += bytes.length;
  }

  async flushIfFull(): Promise<void> {
    if (this.#full.length > 0 || this.pos >= FLUSH_BYTES) await this.#flush();
  }

  async close(): Promise<void> {
    await this.#flush();
    this.file.close();
  }

  abandon(): void {
    try {
      this.file.close();
    } catch { /* already closed */ }
  }

  async #flush(): Promise<void> {
    this.#full.push(this.buffer.subarray(0, this.pos));
    for (const bytes of this.#full) {
      let offset = 0;
      while (offset < bytes.length) offset += await this.file.write(bytes.subarray(offset));
    }
    this.#full = [];
    this.pos = 0;
  }
}
