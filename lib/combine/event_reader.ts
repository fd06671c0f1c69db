/**
 * Streaming reader for Chrome Trace Event JSON: splits the `traceEvents` array (or a bare top-level
 * array) into events without holding the file, and salvages what a damaged file still holds.
 *
 * A byte scanner tracks strings, escapes and nesting depth; the complete events found in each
 * chunk are parsed together with one `JSON.parse("[...]")` (the bytes between two events are a
 * comma and whitespace, so a run of events is itself an array body). Top-level keys other than
 * `traceEvents` are parsed as metadata. Gzip input is recognised by its magic bytes.
 * @module
 */
import { concatBytes } from "../bytes/concat.ts";
import type { TraceEvent } from "../trace_event.ts";
import { isTraceEvent } from "../trace_event.ts";

/** What reading one file found besides its events. */
export interface TraceFileInfo {
  /** `"object"` for `{"traceEvents":[...]}`, `"array"` for a bare `[...]`, `"none"` otherwise. */
  form: "object" | "array" | "none";
  /** Top-level keys other than `traceEvents`, parsed (values above the size cap are left out). */
  metadata: Record<string, unknown>;
  /** Events read. */
  events: number;
  /** Array elements that were not trace events or not valid JSON. */
  skipped: number;
  /** Bytes of (decompressed) JSON text read. */
  bytes: number;
  /** Bytes after the last complete event that could not be used because of damage. */
  lostBytes: number;
  /** One line describing the damage, absent when the file is complete and valid. */
  damage?: string;
  /** True when the file stops early (killed writer), as opposed to holding invalid text. */
  truncated: boolean;
}

/** Largest top-level metadata value kept, in bytes of JSON text. */
export const METADATA_VALUE_LIMIT = 16 << 20;

const READ_SIZE = 1 << 20;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/**
 * Receives complete array elements: `spans` holds {@linkcode SPAN_STRIDE} numbers per element,
 * offsets into `bytes` (see the `SPAN_*` indexes).
 */
export type SpanSink = (bytes: Uint8Array, spans: number[]) => void;

/** Numbers per element in a span list. */
export const SPAN_STRIDE = 9;
/** Element start and end (exclusive). */
export const SPAN_START = 0, SPAN_END = 1;
/** Start and end of the top-level `ts` value, -1 if absent. */
export const SPAN_TS = 2, SPAN_TS_END = 3;
/** Start and end of the top-level `pid` value (its JSON text), -1 if absent. */
export const SPAN_PID = 4, SPAN_PID_END = 5;
/** Start and end of the top-level `tid` value (its JSON text), -1 if absent. */
export const SPAN_TID = 6, SPAN_TID_END = 7;
/**
 * First byte of the `ph` string (0x4d for "M"), plus {@linkcode PHASE_REWRITE} when the element
 * cannot be copied as it is; 0 when the element is not a trace event.
 */
export const SPAN_PHASE = 8;
/** Mask for the `ph` byte in a `SPAN_PHASE` value. */
export const PHASE_BYTE = 0xff;
/** The `ph` byte of a metadata event ("M"). */
export const PHASE_M = 0x4d;
/**
 * Flag in `SPAN_PHASE`: the element spreads over several lines or holds bytes JSON does not allow
 * outside strings; parse it (to be sure it is valid) and write it again.
 */
export const PHASE_REWRITE = 0x100;

/** Bytes that may be copied as they are outside strings besides brackets and quotes (1). */
const PLAIN = new Uint8Array(256);
for (const char of ",: \t0123456789-+.eEtruefalsn") PLAIN[char.charCodeAt(0)] = 1;

const enum Phase {
  Root,
  ObjectKey,
  Colon,
  Value,
  Array,
  Element,
  End,
  Failed,
}

/** A space or tab: blanks that keep an event on one line. */
function isBlank(byte: number): boolean {
  return byte === 0x20 || byte === 0x09;
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Fields of the element being scanned: ts, ts end, pid, pid end, tid, tid end, phase byte. */
const current = new Int32Array(7);

/** True when the quote just after `k` opens a key: the byte before it is `{` or `,`. */
function isKeyStart(chunk: Uint8Array, k: number, start: number): boolean {
  while (k > start && isSpace(chunk[k])) k--;
  const byte = chunk[k];
  return byte === OPEN_BRACE || byte === COMMA;
}

/**
 * At the first byte of a top-level key: if it is `ts`, `pid`, `tid` or `ph` and its value ends
 * inside the chunk, records the value in `fields` and returns the index just after the value;
 * otherwise returns -1 and the caller scans the key as a plain string.
 */
function captureField(chunk: Uint8Array, i: number, fields: Int32Array): number {
  const n = chunk.length;
  if (i + 4 >= n) return -1;
  const a = chunk[i];
  const b = chunk[i + 1];
  const c = chunk[i + 2];
  let slot: number;
  let j: number;
  if (c === QUOTE) {
    if (a === 0x74 && b === 0x73) slot = 0;
    else if (a === 0x70 && b === 0x68) slot = 6;
    else return -1;
    j = i + 3;
  } else if (chunk[i + 3] === QUOTE && c === 0x64 && b === 0x69) {
    if (a === 0x70) slot = 2;
    else if (a === 0x74) slot = 4;
    else return -1;
    j = i + 4;
  } else {
    return -1;
  }
  while (j < n && isBlank(chunk[j])) j++;
  if (j >= n || chunk[j] !== COLON) return -1;
  j++;
  while (j < n && isBlank(chunk[j])) j++;
  if (j >= n) return -1;
  const valueStart = j;
  if (chunk[j] === QUOTE) {
    j++;
    while (j < n && chunk[j] !== QUOTE) j += chunk[j] === BACKSLASH ? 2 : 1;
    if (j >= n) return -1;
    j++;
  } else {
    while (j < n) {
      const byte = chunk[j];
      if (byte === COMMA || byte === CLOSE_BRACE || isBlank(byte)) break;
      if (PLAIN[byte] === 0) return -1;
      j++;
    }
    if (j >= n) return -1;
  }
  if (slot === 6) {
    fields[6] = chunk[valueStart] === QUOTE && j - valueStart > 2 ? chunk[valueStart + 1] : 0;
  } else {
    fields[slot] = valueStart;
    fields[slot + 1] = j;
  }
  return j;
}

/**
 * The incremental scanner: feed it chunks of one file's bytes in order, collect the events each
 * feed returns, then call `finish` for the file's summary.
 */
export class TraceScanner {
  #decoder = new TextDecoder();
  #phase = Phase.Root;
  #form: TraceFileInfo["form"] = "none";
  #metadata: Record<string, unknown> = {};
  #events = 0;
  #skipped = 0;
  #bytes = 0;
  #sawEvents = false;
  /** Absolute offset just after the last complete element or metadata value. */
  #goodEnd = 0;
  #failure: string | undefined;
  #skippedKeys: string[] = [];

  // The value being scanned (an array element or a metadata value).
  #depth = 0;
  #inString = false;
  /** The previous chunk ended inside a string on an unpaired backslash. */
  #carryEscape = false;
  /** A primitive (number, true, false, null) at depth 0: ends at a delimiter. */
  #primitive = false;
  #pieces: Uint8Array[] = [];
  #piecesBytes = 0;
  #oversized = false;
  #key = "";
  #keyPieces: Uint8Array[] = [];
  /** Depth of the events array: 1 inside a bare array, 2 inside `{"traceEvents":[`. */
  #arrayIsRoot = false;

  /**
   * Scans one chunk and hands the array elements completed in it to `onSpans` as (bytes, spans):
   * `spans` holds start and end offsets into `bytes`, in file order. An element that began in an
   * earlier chunk comes alone, in its own buffer.
   */
  feed(chunk: Uint8Array, onSpans: SpanSink): void {
    const n = chunk.length;
    let i = 0;
    if (
      this.#bytes === 0 && n >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf
    ) {
      i = 3; // UTF-8 byte order mark
      this.#goodEnd = 3;
    }
    const base = this.#bytes;
    this.#bytes += n;
    const spans: number[] = [];
    while (i < n) {
      if (this.#phase === Phase.Array || this.#phase === Phase.Element) {
        i = this.#scanElements(chunk, i, spans, onSpans);
      } else {
        i = this.#scanStructure(chunk, i, base);
      }
    }
    if (spans.length > 0) onSpans(chunk, spans);
  }

  /**
   * The hot loop: walks the events array from `i`, pushing each complete element's offsets onto
   * `spans`. Returns where it stopped: the chunk's end, or just after the array's `]`.
   */
  #scanElements(chunk: Uint8Array, i: number, spans: number[], onSpans: SpanSink): number {
    const n = chunk.length;
    const base = this.#bytes - n;
    let inElement = this.#phase === Phase.Element;
    let depth = this.#depth;
    let inString = this.#inString;
    let escaped = this.#carryEscape;
    let primitive = this.#primitive;
    let start = inElement ? -1 : i; // -1: the element began in an earlier chunk
    let rewrite = false;
    while (i < n) {
      let byte = chunk[i];
      if (!inElement) {
        if (byte === COMMA || isSpace(byte)) {
          i++;
          continue;
        }
        if (byte === CLOSE_BRACKET) {
          this.#inString = false;
          this.#carryEscape = false;
          this.#goodEnd = base + i + 1;
          this.#phase = this.#arrayIsRoot ? Phase.End : Phase.ObjectKey;
          return i + 1;
        }
        if (byte === CLOSE_BRACE) {
          this.#fail(`unexpected '}' at byte ${base + i}`);
          return n;
        }
        inElement = true;
        start = i;
        current.fill(-1);
        current[6] = 0;
        rewrite = false;
        depth = 0;
        inString = false;
        escaped = false;
        primitive = byte !== OPEN_BRACE && byte !== OPEN_BRACKET && byte !== QUOTE;
      }
      let end = -1;
      if (primitive) {
        while (i < n) {
          byte = chunk[i];
          if (byte === COMMA || byte === CLOSE_BRACKET || byte === CLOSE_BRACE || isSpace(byte)) {
            end = i;
            break;
          }
          i++;
        }
      } else {
        while (i < n) {
          if (inString) {
            // Tight loop over the string's body: most bytes of an event are in its name.
            if (escaped) {
              escaped = false;
              i++;
            }
            while (i < n) {
              byte = chunk[i++];
              if (byte === QUOTE) {
                inString = false;
                break;
              }
              if (byte === BACKSLASH) {
                if (i < n) i++;
                else escaped = true;
              }
            }
            if (inString) break;
            if (depth === 0) {
              end = i;
              break;
            }
            continue;
          }
          byte = chunk[i++];
          if (byte === QUOTE) {
            if (depth === 1 && start >= 0 && isKeyStart(chunk, i - 2, start)) {
              const after = captureField(chunk, i, current);
              if (after >= 0) {
                i = after;
                continue;
              }
            }
            inString = true;
          } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
            depth++;
          } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
            if (--depth === 0) {
              end = i;
              break;
            }
          } else if (PLAIN[byte] === 0) {
            rewrite = true;
          }
        }
      }
      if (end < 0) break;
      inElement = false;
      if (start < 0) {
        this.#keepPiece(chunk.subarray(0, end));
        const whole = concatBytes(this.#pieces);
        this.#pieces = [];
        this.#piecesBytes = 0;
        const single = [0, whole.length, -1, -1, -1, -1, -1, -1, 0];
        locateFields(whole, 0, whole.length, single);
        onSpans(whole, single);
      } else {
        if (rewrite && current[6] !== 0) current[6] |= PHASE_REWRITE;
        spans.push(
          start,
          end,
          current[0],
          current[1],
          current[2],
          current[3],
          current[4],
          current[5],
          current[6],
        );
      }
      this.#goodEnd = base + end;
    }
    if (inElement) {
      if (start >= 0) {
        this.#pieces = [];
        this.#piecesBytes = 0;
      }
      this.#phase = Phase.Element;
      this.#keepPiece(chunk.subarray(start < 0 ? 0 : start, n));
    } else {
      this.#phase = Phase.Array;
    }
    this.#depth = depth;
    this.#inString = inString;
    this.#carryEscape = escaped;
    this.#primitive = primitive;
    return n;
  }

  /** Top-level metadata read so far. */
  get metadata(): Record<string, unknown> {
    return this.#metadata;
  }

  /** Ends the file: reports truncation or invalid text, and returns the summary. */
  finish(kept: { events: number; skipped: number }): TraceFileInfo {
    this.#events = kept.events;
    this.#skipped = kept.skipped;
    const lostBytes = this.#bytes - this.#goodEnd;
    let damage = this.#failure;
    let truncated = false;
    if (damage === undefined) {
      switch (this.#phase) {
        case Phase.End:
          break;
        case Phase.Root:
          damage = this.#bytes === 0 ? "the file is empty" : "the file holds only whitespace";
          break;
        case Phase.Element:
          truncated = true;
          damage = `truncated inside an event: kept ${this.#events} events, lost the last ` +
            `${lostBytes} bytes (1 incomplete event)`;
          break;
        case Phase.Array:
          truncated = true;
          damage = `truncated before the end of the event array: kept ${this.#events} events`;
          break;
        default:
          truncated = true;
          damage = `truncated after the event array: kept ${this.#events} events, lost ` +
            `${lostBytes} bytes of trailing metadata`;
      }
    } else if (this.#form !== "none" || this.#events > 0) {
      damage += `: kept ${this.#events} events, ignored the remaining ${lostBytes} bytes`;
    }
    if (damage === undefined && this.#form === "object" && !this.#sawEvents) {
      damage = "no traceEvents array in this JSON object";
    }
    if (this.#skipped > 0) {
      const note = `${this.#skipped} array elements were not valid trace events`;
      damage = damage === undefined ? note : `${damage}; ${note}`;
    }
    if (this.#skippedKeys.length > 0) {
      const note = `metadata ${this.#skippedKeys.join(", ")} larger than ` +
        `${METADATA_VALUE_LIMIT >> 20} MiB left out`;
      damage = damage === undefined ? note : `${damage}; ${note}`;
    }
    return {
      form: this.#form,
      metadata: this.#metadata,
      events: this.#events,
      skipped: this.#skipped,
      bytes: this.#bytes,
      lostBytes: damage === undefined ? 0 : lostBytes,
      damage,
      truncated,
    };
  }

  #fail(message: string): void {
    if (this.#failure === undefined) this.#failure = message;
    this.#phase = Phase.Failed;
  }

  #keepPiece(bytes: Uint8Array): void {
    this.#piecesBytes += bytes.length;
    if (this.#phase === Phase.Value && this.#piecesBytes > METADATA_VALUE_LIMIT) {
      this.#oversized = true;
      this.#pieces = [];
      return;
    }
    if (!this.#oversized) this.#pieces.push(bytes.slice());
  }

  #startValue(first: number): void {
    this.#depth = 0;
    this.#inString = false;
    this.#carryEscape = false;
    this.#primitive = first !== OPEN_BRACE && first !== OPEN_BRACKET && first !== QUOTE;
    this.#pieces = [];
    this.#piecesBytes = 0;
    this.#oversized = false;
  }

  /**
   * Advances through one JSON value from `i`; returns the index just after it ends, or -1 when the
   * chunk ends first (the state carries over to the next chunk).
   */
  #scanValue(chunk: Uint8Array, i: number): number {
    const n = chunk.length;
    if (this.#primitive) {
      while (i < n) {
        const byte = chunk[i];
        if (byte === COMMA || byte === CLOSE_BRACKET || byte === CLOSE_BRACE || isSpace(byte)) {
          return i;
        }
        i++;
      }
      return -1;
    }
    let depth = this.#depth;
    let inString = this.#inString;
    let escaped = this.#carryEscape;
    while (i < n) {
      const byte = chunk[i++];
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) {
          inString = false;
          if (depth === 0) {
            this.#inString = false;
            return i;
          }
        }
      } else if (byte === QUOTE) {
        inString = true;
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        depth++;
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (--depth === 0) {
          this.#depth = 0;
          this.#inString = false;
          return i;
        }
      }
    }
    this.#depth = depth;
    this.#inString = inString;
    this.#carryEscape = escaped;
    return -1;
  }

  /** Handles the root and the top-level object's keys and metadata values. */
  #scanStructure(chunk: Uint8Array, i: number, base: number): number {
    const n = chunk.length;
    switch (this.#phase) {
      case Phase.Root: {
        while (i < n && isSpace(chunk[i])) i++;
        if (i === n) return n;
        const byte = chunk[i];
        if (byte === OPEN_BRACKET) {
          this.#form = "array";
          this.#arrayIsRoot = true;
          this.#sawEvents = true;
          this.#phase = Phase.Array;
        } else if (byte === OPEN_BRACE) {
          this.#form = "object";
          this.#phase = Phase.ObjectKey;
        } else {
          this.#fail("not JSON trace data (it does not start with '{' or '[')");
          return n;
        }
        this.#goodEnd = base + i + 1;
        return i + 1;
      }
      case Phase.ObjectKey: {
        if (this.#keyPieces.length > 0 || this.#inString) return this.#scanKey(chunk, i, base);
        while (i < n && (isSpace(chunk[i]) || chunk[i] === COMMA)) i++;
        if (i === n) return n;
        const byte = chunk[i];
        if (byte === CLOSE_BRACE) {
          this.#phase = Phase.End;
          this.#goodEnd = base + i + 1;
          return i + 1;
        }
        if (byte !== QUOTE) {
          this.#fail(`invalid JSON at byte ${base + i} (expected a key)`);
          return n;
        }
        this.#inString = true;
        this.#carryEscape = false;
        return this.#scanKey(chunk, i + 1, base);
      }
      case Phase.Colon: {
        while (i < n && isSpace(chunk[i])) i++;
        if (i === n) return n;
        if (chunk[i] !== COLON) {
          this.#fail(`invalid JSON at byte ${base + i} (expected ':')`);
          return n;
        }
        i++;
        while (i < n && isSpace(chunk[i])) i++;
        if (i === n) {
          this.#phase = Phase.Value;
          this.#pieces = [];
          this.#depth = -1; // value not started yet
          return n;
        }
        return this.#beginValue(chunk, i, base);
      }
      case Phase.Value: {
        if (this.#depth === -1) {
          while (i < n && isSpace(chunk[i])) i++;
          if (i === n) return n;
          return this.#beginValue(chunk, i, base);
        }
        const continued = this.#pieces.length > 0 || this.#oversized;
        const start = continued ? 0 : i;
        const end = this.#scanValue(chunk, i);
        if (end < 0) {
          this.#keepPiece(chunk.subarray(start, n));
          return n;
        }
        this.#keepPiece(chunk.subarray(start, end));
        this.#storeMetadata();
        this.#goodEnd = base + end;
        this.#phase = Phase.ObjectKey;
        return end;
      }
      case Phase.End: {
        while (i < n && isSpace(chunk[i])) i++;
        if (i < n) this.#fail(`unexpected text after the end of the JSON at byte ${base + i}`);
        return n;
      }
      default:
        return n;
    }
  }

  #beginValue(chunk: Uint8Array, i: number, base: number): number {
    const byte = chunk[i];
    if (this.#key === "traceEvents" && byte === OPEN_BRACKET) {
      this.#sawEvents = true;
      this.#phase = Phase.Array;
      this.#goodEnd = base + i + 1;
      return i + 1;
    }
    if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET || byte === COMMA || byte === COLON) {
      this.#fail(`invalid JSON at byte ${base + i} (expected a value)`);
      return chunk.length;
    }
    this.#phase = Phase.Value;
    this.#startValue(byte);
    return i;
  }

  #scanKey(chunk: Uint8Array, i: number, base: number): number {
    const n = chunk.length;
    const start = i;
    let carry = this.#carryEscape;
    while (i < n) {
      const byte = chunk[i++];
      if (carry) {
        carry = false;
      } else if (byte === BACKSLASH) {
        carry = true;
      } else if (byte === QUOTE) {
        this.#keyPieces.push(chunk.slice(start, i - 1));
        const raw = this.#decoder.decode(concatBytes(this.#keyPieces));
        this.#keyPieces = [];
        this.#inString = false;
        try {
          this.#key = JSON.parse(`"${raw}"`);
        } catch {
          this.#fail(`invalid JSON at byte ${base + i} (bad key)`);
          return n;
        }
        this.#phase = Phase.Colon;
        return i;
      }
    }
    this.#carryEscape = carry;
    this.#keyPieces.push(chunk.slice(start, n));
    return n;
  }

  #storeMetadata(): void {
    if (this.#oversized) {
      this.#skippedKeys.push(this.#key);
    } else {
      try {
        this.#metadata[this.#key] = JSON.parse(this.#decoder.decode(concatBytes(this.#pieces)));
      } catch (error) {
        this.#fail(`invalid JSON in the value of "${this.#key}" (${(error as Error).message})`);
      }
    }
    this.#pieces = [];
    this.#piecesBytes = 0;
    this.#oversized = false;
  }
}

/**
 * The chunks of a file's JSON text, gunzipped when the file starts with the gzip magic bytes.
 * A chunk is only valid until the next one is requested: two read buffers take turns, the next
 * read running while the caller works on the current chunk.
 */
export async function* readChunks(path: string): AsyncGenerator<Uint8Array> {
  const file = await Deno.open(path, { read: true });
  let closed = false;
  let pending: Promise<number> | undefined;
  try {
    let buffer = new Uint8Array(READ_SIZE);
    let spare = new Uint8Array(READ_SIZE);
    const first = await readFull(file, buffer);
    if (first >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b) {
      closed = true;
      yield* gunzip(file, buffer.slice(0, first));
      return;
    }
    let count = first;
    while (count > 0) {
      pending = count < READ_SIZE ? undefined : readFull(file, spare);
      yield buffer.subarray(0, count);
      count = pending === undefined ? 0 : await pending;
      pending = undefined;
      [buffer, spare] = [spare, buffer];
    }
  } finally {
    // A caller that stops early leaves a read running: let it finish before closing.
    await pending?.catch(() => {});
    if (!closed) file.close();
  }
}

async function readFull(file: Deno.FsFile, buffer: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const count = await file.read(buffer.subarray(filled));
    if (count === null) break;
    filled += count;
  }
  return filled;
}

async function* gunzip(
  file: Deno.FsFile,
  head: Uint8Array<ArrayBuffer>,
): AsyncGenerator<Uint8Array> {
  const source = file.readable;
  const compressed = new ReadableStream<Uint8Array<ArrayBuffer>>({
    async start(controller) {
      controller.enqueue(head);
      try {
        for await (const chunk of source) controller.enqueue(chunk);
        controller.close();
      } catch (error) {
        controller.error(error);
      }
    },
  });
  yield* compressed.pipeThrough(new DecompressionStream("gzip"));
}

/** The metadata a tracer per-process file carries at both ends (docs/internals.md). */
export interface TracerFileEnds {
  /** The first line's metadata, written at process start. */
  otherData: Record<string, unknown>;
  /** The last line's metadata, written at process end. */
  tracerEnd: Record<string, unknown>;
}

const END_BYTES = 1 << 16;
const TRACER_END_KEY = '"tracerEnd":';

/**
 * Reads only the first line and the last bytes of a file: returns its `otherData` and
 * `tracerEnd` when it is a complete, uncompressed tracer per-process file, else undefined.
 */
export async function readTracerFileEnds(path: string): Promise<TracerFileEnds | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch {
    return undefined;
  }
  try {
    const size = (await file.stat()).size;
    const head = new Uint8Array(Math.min(size, END_BYTES));
    const headLength = await readFull(file, head);
    if (head[0] !== OPEN_BRACE) return undefined;
    const scanner = new TraceScanner();
    scanner.feed(head.subarray(0, headLength), () => {});
    const otherData = scanner.metadata.otherData;
    if (!isRecord(otherData)) return undefined;
    const tailStart = Math.max(0, size - END_BYTES);
    await file.seek(tailStart, Deno.SeekMode.Start);
    const tail = new Uint8Array(size - tailStart);
    const tailLength = await readFull(file, tail);
    const text = new TextDecoder().decode(tail.subarray(0, tailLength)).trimEnd();
    const at = text.lastIndexOf(TRACER_END_KEY);
    if (at < 0 || !text.endsWith("}") || !/\]\s*,\s*$/.test(text.slice(0, at))) return undefined;
    const tracerEnd: unknown = JSON.parse(text.slice(at + TRACER_END_KEY.length, -1));
    return isRecord(tracerEnd) ? { otherData, tracerEnd } : undefined;
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One pass over a file: feeds its chunks to a scanner, which hands elements to `onSpans`. */
export class FileScan {
  #scanner = new TraceScanner();
  #readError: string | undefined;

  /** Prepares a pass over `path`; nothing is opened until `chunks` is iterated. */
  constructor(readonly path: string, readonly onSpans: SpanSink) {}

  /** Reads the file, yielding after each chunk's elements went to `onSpans`; never throws. */
  async *chunks(): AsyncGenerator<void> {
    try {
      for await (const chunk of readChunks(this.path)) {
        this.#scanner.feed(chunk, this.onSpans);
        yield;
      }
    } catch (error) {
      this.#readError = describeReadError(error);
    }
  }

  /** The file's summary once `chunks` is exhausted; `kept` counts what the sink accepted. */
  finish(kept: { events: number; skipped: number }): TraceFileInfo {
    const info = this.#scanner.finish(kept);
    const readError = this.#readError;
    if (readError === undefined) return info;
    if (info.bytes === 0) {
      info.damage = readError;
      info.lostBytes = 0;
    } else {
      info.truncated = true;
      info.damage = `${readError} after ${info.bytes} bytes: kept ${info.events} events` +
        (info.damage === undefined ? "" : ` (${info.damage})`);
    }
    return info;
  }
}

/** Turns element spans into event objects, parsing each chunk's run of events at once. */
export class EventParser {
  #decoder = new TextDecoder();
  /** Events produced so far. */
  events = 0;
  /** Elements that were not trace events or not valid JSON. */
  skipped = 0;

  /** Parses the elements at `spans` of `bytes` and appends the trace events to `out`. */
  parse(bytes: Uint8Array, spans: number[], out: TraceEvent[]): void {
    const count = spans.length / SPAN_STRIDE;
    const last = spans.length - SPAN_STRIDE;
    let parsed: unknown[] | undefined;
    try {
      parsed = JSON.parse(
        `[${this.#decoder.decode(bytes.subarray(spans[SPAN_START], spans[last + SPAN_END]))}]`,
      );
    } catch { /* one bad element: parse them one by one below */ }
    if (parsed === undefined || parsed.length !== count) {
      parsed = [];
      for (let k = 0; k < spans.length; k += SPAN_STRIDE) {
        const text = this.#decoder.decode(bytes.subarray(spans[k], spans[k + SPAN_END]));
        try {
          parsed.push(JSON.parse(text));
        } catch {
          parsed.push(undefined);
        }
      }
    }
    for (const value of parsed) {
      if (isTraceEvent(value)) {
        out.push(value);
        this.events++;
      } else {
        this.skipped++;
      }
    }
  }
}

const KEY_NONE = 0;
const KEY_TS = 1;
const KEY_PID = 2;
const KEY_TID = 3;
const KEY_PH = 4;

/**
 * Finds the top-level `ts`, `pid`, `tid` and `ph` of the event in `bytes[start, end)` without
 * parsing it, and writes them into `span` (a single span, laid out as `SPAN_*`). Returns false
 * when the element is not an object with a non-empty string `ph`.
 */
export function locateFields(
  bytes: Uint8Array,
  start: number,
  end: number,
  span: number[],
): boolean {
  span[SPAN_TS] =
    span[SPAN_TS_END] =
    span[SPAN_PID] =
    span[SPAN_PID_END] =
      -1;
  span[SPAN_TID] = span[SPAN_TID_END] = -1;
  span[SPAN_PHASE] = 0;
  if (bytes[start] !== OPEN_BRACE || bytes[end - 1] !== CLOSE_BRACE) return false;
  let depth = 1;
  let expectKey = true;
  let rewrite = false;
  let i = start + 1;
  const last = end - 1;
  while (i < last) {
    const byte = bytes[i];
    if (byte === QUOTE) {
      let j = i + 1;
      while (j < last && bytes[j] !== QUOTE) j += bytes[j] === BACKSLASH ? 2 : 1;
      if (depth !== 1 || !expectKey) {
        i = j + 1;
        continue;
      }
      expectKey = false;
      const length = j - i - 1;
      const a = bytes[i + 1];
      const b = bytes[i + 2];
      let key = KEY_NONE;
      if (length === 2) {
        if (a === 0x74 && b === 0x73) key = KEY_TS;
        else if (a === 0x70 && b === 0x68) key = KEY_PH;
      } else if (length === 3 && bytes[i + 3] === 0x64) {
        if (a === 0x70 && b === 0x69) key = KEY_PID;
        else if (a === 0x74 && b === 0x69) key = KEY_TID;
      }
      i = j + 1;
      if (key === KEY_NONE) continue;
      while (i < last && bytes[i] !== COLON) i++;
      i++;
      while (i < last && isSpace(bytes[i])) i++;
      const valueStart = i;
      if (bytes[i] === QUOTE) {
        i++;
        while (i < last && bytes[i] !== QUOTE) i += bytes[i] === BACKSLASH ? 2 : 1;
        i++;
      } else {
        while (i < last && bytes[i] !== COMMA && !isSpace(bytes[i])) {
          if (bytes[i] === OPEN_BRACE || bytes[i] === OPEN_BRACKET) break;
          if (PLAIN[bytes[i]] === 0) rewrite = true;
          i++;
        }
      }
      if (key === KEY_TS) {
        span[SPAN_TS] = valueStart;
        span[SPAN_TS_END] = i;
      } else if (key === KEY_PID) {
        span[SPAN_PID] = valueStart;
        span[SPAN_PID_END] = i;
      } else if (key === KEY_TID) {
        span[SPAN_TID] = valueStart;
        span[SPAN_TID_END] = i;
      } else if (bytes[valueStart] === QUOTE && i - valueStart > 2) {
        span[SPAN_PHASE] = bytes[valueStart + 1];
      }
      continue;
    }
    if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth++;
    else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) depth--;
    else if (byte === COMMA && depth === 1) expectKey = true;
    else if (PLAIN[byte] === 0) rewrite = true;
    i++;
  }
  if (rewrite && span[SPAN_PHASE] !== 0) span[SPAN_PHASE] |= PHASE_REWRITE;
  return span[SPAN_PHASE] !== 0;
}

const POWERS_OF_TEN = Array.from({ length: 16 }, (_, k) => 10 ** k);

/**
 * The JSON number in `bytes[start, end)`. Plain decimals (up to 15 digits on each side of the
 * point) are read directly; anything else goes through `Number`.
 */
export function parseNumber(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  const negative = bytes[i] === 0x2d;
  if (negative) i++;
  let whole = 0;
  let digits = 0;
  while (i < end) {
    const digit = bytes[i] - 0x30;
    if (digit < 0 || digit > 9) break;
    whole = whole * 10 + digit;
    digits++;
    i++;
  }
  let value = whole;
  if (i < end && bytes[i] === 0x2e) {
    i++;
    let fraction = 0;
    let places = 0;
    while (i < end) {
      const digit = bytes[i] - 0x30;
      if (digit < 0 || digit > 9) break;
      fraction = fraction * 10 + digit;
      places++;
      i++;
    }
    if (places === 0 || places > 15) return Number(asciiText(bytes, start, end));
    value += fraction / POWERS_OF_TEN[places];
  }
  if (i !== end || digits === 0 || digits > 15) return Number(asciiText(bytes, start, end));
  return negative ? -value : value;
}

const RECENT_THREADS = 4;

interface ThreadKey {
  pid: Uint8Array;
  tid: Uint8Array;
}

/**
 * The (pid, tid) pairs met so far, compared by the bytes of their JSON values, so that a repeated
 * pair costs no string: consecutive events mostly come from one of the last few threads.
 */
export class SeenThreads {
  #byHash = new Map<number, ThreadKey[]>();
  /** The last few pairs met (a ring), checked before hashing. */
  #recent: ThreadKey[] = [];
  #next = 0;

  /** True the first time the pid and tid of span `k` (pid present, tid maybe absent) are met. */
  isNew(bytes: Uint8Array, spans: number[], k: number): boolean {
    const pidStart = spans[k + SPAN_PID];
    const pidEnd = spans[k + SPAN_PID_END];
    const tidStart = spans[k + SPAN_TID];
    const tidEnd = spans[k + SPAN_TID_END];
    const recent = this.#recent;
    for (let r = 0; r < recent.length; r++) {
      if (sameKey(recent[r], bytes, pidStart, pidEnd, tidStart, tidEnd)) return false;
    }
    let hash = 0x811c9dc5;
    for (let i = pidStart; i < pidEnd; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
    hash = Math.imul(hash ^ 0x20, 0x01000193);
    for (let i = tidStart; i < tidEnd; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
    hash &= 0x3fffffff;
    let keys = this.#byHash.get(hash);
    if (keys === undefined) this.#byHash.set(hash, keys = []);
    for (const key of keys) {
      if (sameKey(key, bytes, pidStart, pidEnd, tidStart, tidEnd)) {
        this.#remember(key);
        return false;
      }
    }
    const key = { pid: bytes.slice(pidStart, pidEnd), tid: bytes.slice(tidStart, tidEnd) };
    keys.push(key);
    this.#remember(key);
    return true;
  }

  #remember(key: ThreadKey): void {
    this.#recent[this.#next] = key;
    this.#next = (this.#next + 1) % RECENT_THREADS;
  }
}

function sameKey(
  key: ThreadKey,
  bytes: Uint8Array,
  pidStart: number,
  pidEnd: number,
  tidStart: number,
  tidEnd: number,
): boolean {
  const { pid, tid } = key;
  if (pid.length !== pidEnd - pidStart || tid.length !== tidEnd - tidStart) return false;
  for (let i = 0; i < pid.length; i++) if (pid[i] !== bytes[pidStart + i]) return false;
  for (let i = 0; i < tid.length; i++) if (tid[i] !== bytes[tidStart + i]) return false;
  return true;
}

const utf8 = new TextDecoder();

/**
 * The JSON value in `bytes[start, end)` as `JSON.stringify` writes it, so that ids read from bytes
 * and from parsed events compare equal (`1`, `"p\u00fc"` and `"pü"` become `1` and `"pü"`).
 */
export function canonicalJson(bytes: Uint8Array, start: number, end: number): string {
  let plain = end > start;
  for (let i = start; i < end && plain; i++) {
    const byte = bytes[i];
    plain = (byte >= 0x30 && byte <= 0x39) || (byte === 0x2d && i === start);
  }
  if (plain && !(bytes[start] === 0x30 && end - start > 1)) return asciiText(bytes, start, end);
  try {
    return JSON.stringify(JSON.parse(utf8.decode(bytes.subarray(start, end))));
  } catch {
    return asciiText(bytes, start, end);
  }
}

/** The text of `bytes[start, end)` read as Latin-1 (enough for numbers and ASCII ids). */
export function asciiText(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]);
  return text;
}

function describeReadError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "the file does not exist";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "it is a directory";
  if (error instanceof TypeError && /gzip|decompress|corrupt|deflate/i.test(error.message)) {
    return "the gzip data is corrupt or truncated";
  }
  return `cannot read it (${error instanceof Error ? error.message : String(error)})`;
}
