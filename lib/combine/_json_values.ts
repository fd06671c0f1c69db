/**
 * Reading the values the scanner located (lib/combine/_json_scanner.ts) in an element's bytes:
 * events parsed in runs, numbers, pid and tid text.
 * @module
 */
import { isTraceEvent, type TraceEvent } from "../trace_event.ts";
import { SPAN_END, SPAN_START, SPAN_STRIDE } from "./_json_scanner.ts";

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

const utf8 = new TextDecoder();

/**
 * The JSON value in `bytes[start, end)` as `JSON.stringify` writes it, so that ids read from bytes
 * and from parsed events compare equal (`1`, `"p\u00fc"` and `"pü"` become `1` and `"pü"`).
 */
export function canonicalJson(bytes: Uint8Array, start: number, end: number): string {
  // Digits alone are their own canonical text, up to 15 of them (more may not survive a double).
  let plain = end > start && end - start <= 15;
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
