/**
 * Splits Chrome Trace Event JSON into events without holding the file: the `traceEvents` array
 * (or a bare top-level array) is cut into elements, and what a damaged file still holds is
 * salvaged.
 *
 * A byte scanner tracks strings, escapes and nesting depth; the complete elements found in each
 * chunk go to a sink as spans (start, end, and where their top-level `ts`, `pid`, `tid` and `ph`
 * are), so a run of events can be parsed together (the bytes between two events are a comma and
 * whitespace, so a run of events is itself an array body) or copied as bytes. Top-level keys other
 * than `traceEvents` are parsed as metadata.
 * @module
 */
import { concatBytes } from "../bytes/concat.ts";

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

/**
 * The largest event (array element) the scanner holds while it spans chunks: 64 MiB. A bigger
 * one (a 4 GB string, a file of NUL bytes after the `[`) ends the file's reading there, with the
 * events before it kept, so memory stays bounded whatever the input.
 */
export const EVENT_SIZE_LIMIT = 64 << 20;

// Byte codes of the per-byte loops, local on purpose: the same constants imported from
// lib/bytes/ascii.ts measured 10-12% slower on bench/combine (imports are not folded into the loop).
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
/** In a field slot: the key came twice; the element is parsed and written again. */
const DUPLICATE_KEY = -2;

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
  } else if (fields[slot] !== -1) {
    // A key given twice: readers keep the last value, a byte patch would change the first only.
    fields[slot] = fields[slot + 1] = DUPLICATE_KEY;
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
  /** Offset of the opening quote of the key being scanned (where a too long one is said to be). */
  #keyStart = 0;
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
   * One function on purpose: its state lives in locals across the byte loop (strings, escapes,
   * depth, the fields of the current element); split into calls it measured slower.
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
        for (const slot of [0, 2, 4]) {
          if (current[slot] !== DUPLICATE_KEY) continue;
          current[slot] = current[slot + 1] = -1;
          rewrite = true;
        }
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
      if (this.#piecesBytes > EVENT_SIZE_LIMIT) {
        this.#pieces = [];
        this.#fail(
          `an event larger than ${
            EVENT_SIZE_LIMIT >> 20
          } MiB (the most tracer reads) at byte ${this.#goodEnd}`,
        );
        return n;
      }
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
          if (!this.#sawEvents) {
            damage = "truncated before its traceEvents array: no events in it";
          } else {
            damage = `truncated after the event array: kept ${this.#events} events` +
              (lostBytes > 0 ? `, lost ${lostBytes} bytes of trailing metadata` : "");
          }
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

  /**
   * Handles the root and the top-level object's keys and metadata values: one state machine over
   * the bytes outside the events array, kept whole so each state's bytes are read in one place.
   */
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
        this.#keyStart = base + i;
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
        if (this.#keyTooLong()) return n;
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
    this.#keyTooLong();
    return n;
  }

  /** Fails (true) when the key scanned so far is over the limit, naming where it starts. */
  #keyTooLong(): boolean {
    if (this.#keyPieces.reduce((sum, piece) => sum + piece.length, 0) <= METADATA_VALUE_LIMIT) {
      return false;
    }
    this.#keyPieces = [];
    this.#fail(`a key longer than ${METADATA_VALUE_LIMIT >> 20} MiB at byte ${this.#keyStart}`);
    return true;
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

const KEY_NONE = 0;
const KEY_TS = 1;
const KEY_PID = 2;
const KEY_TID = 3;
const KEY_PH = 4;

/**
 * Finds the top-level `ts`, `pid`, `tid` and `ph` of the event in `bytes[start, end)` without
 * parsing it, and writes them into `span` (a single span, laid out as `SPAN_*`). Returns false
 * when the element is not an object with a non-empty string `ph`. It runs once per element the
 * fast scan could not place, over its bytes: one loop, like the scanner it stands in for.
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
      const slot = key === KEY_TS ? SPAN_TS : key === KEY_PID ? SPAN_PID : SPAN_TID;
      if (key !== KEY_PH && span[slot] !== -1) rewrite = true; // a key given twice
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
