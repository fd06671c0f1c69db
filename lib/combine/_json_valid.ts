/**
 * Is an element's text valid JSON (RFC 8259, UTF-8), and may it be copied as it is? The byte path
 * of combine copies elements as they are, so it asks this first. A malformed one (a number `0..5`
 * or `007`, a missing or trailing comma, a raw control byte or invalid UTF-8 in a string) is parsed
 * and written again, or left out and counted, instead of making the output invalid. So is a valid
 * one with a `\uD800`-`\uDFFF` escape, which the output spells as tracer spells lone surrogates.
 * @module
 */

/** What checkJson says of an element. */
export const JsonCheck = {
  /** Not valid JSON. */
  invalid: 0,
  /** Valid, and copied as it is. */
  copy: 1,
  /** Valid, with a `\uD800`-`\uDFFF` escape: written again (lib/json_text.ts spells those). */
  surrogate: 2,
} as const;

const OBJECT = 1;
const ARRAY = 2;

// Where the validator is: it wants a value (or, just after `[`, a `]`), a key (or, just after
// `{`, a `}`), a `:`, or what follows a value.
const VALUE = 0;
const VALUE_OR_CLOSE = 1;
const KEY_OR_CLOSE = 2;
const KEY = 3;
const COLON = 4;
const AFTER_VALUE = 5;

/** Open containers of the element being checked (grown for deep nesting, reused). */
let stack = new Uint8Array(64);
/** The element being checked has a `\uD800`-`\uDFFF` escape (set by stringEnd). */
let surrogate = false;

/** What `bytes[start, end)` is: exactly one JSON value (blanks around it allowed), or not. */
export function checkJson(bytes: Uint8Array, start: number, end: number): number {
  surrogate = false;
  if (!isValidJson(bytes, start, end)) return JsonCheck.invalid;
  return surrogate ? JsonCheck.surrogate : JsonCheck.copy;
}

/** True when `bytes[start, end)` holds exactly one JSON value (blanks around it allowed). */
export function isValidJson(bytes: Uint8Array, start: number, end: number): boolean {
  let depth = 0;
  let state = VALUE;
  let i = skipBlanks(bytes, start, end);
  while (i < end) {
    const byte = bytes[i];
    if (state === VALUE || state === VALUE_OR_CLOSE) {
      if (byte === 0x5d && state === VALUE_OR_CLOSE) {
        depth--;
        i++;
        state = AFTER_VALUE;
      } else if (byte === 0x7b || byte === 0x5b) {
        if (depth === stack.length) {
          const grown = new Uint8Array(stack.length * 2);
          grown.set(stack);
          stack = grown;
        }
        stack[depth++] = byte === 0x7b ? OBJECT : ARRAY;
        i++;
        state = byte === 0x7b ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
      } else {
        i = byte === 0x22 ? stringEnd(bytes, i + 1, end) : scalarEnd(bytes, i, end);
        if (i < 0) return false;
        state = AFTER_VALUE;
      }
    } else if (state === KEY || state === KEY_OR_CLOSE) {
      if (byte === 0x7d && state === KEY_OR_CLOSE) {
        depth--;
        i++;
        state = AFTER_VALUE;
      } else {
        if (byte !== 0x22) return false;
        i = stringEnd(bytes, i + 1, end);
        if (i < 0) return false;
        state = COLON;
      }
    } else if (state === COLON) {
      if (byte !== 0x3a) return false;
      i++;
      state = VALUE;
    } else {
      if (depth === 0) return false; // more after the value
      const inObject = stack[depth - 1] === OBJECT;
      if (byte === 0x2c) {
        state = inObject ? KEY : VALUE;
      } else if (byte === (inObject ? 0x7d : 0x5d)) {
        depth--;
      } else {
        return false;
      }
      i++;
    }
    if (i < end && bytes[i] <= 0x20) i = skipBlanks(bytes, i, end); // rare in compact JSON
  }
  return state === AFTER_VALUE && depth === 0;
}

function skipBlanks(bytes: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const byte = bytes[i];
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) break;
    i++;
  }
  return i;
}

/** Just after the closing quote of the string whose body starts at `i`; -1 if it is invalid. */
function stringEnd(bytes: Uint8Array, i: number, end: number): number {
  while (i < end) {
    // The common case, one table look-up per byte: printable ASCII but the quote and backslash.
    while (i < end && PLAIN_IN_STRING[bytes[i]] === 1) i++;
    if (i >= end) break;
    const byte = bytes[i];
    if (byte === 0x22) return i + 1;
    if (byte === 0x5c) {
      const next = bytes[i + 1];
      if (next === 0x75) {
        if (i + 6 > end) return -1;
        for (let k = i + 2; k < i + 6; k++) if (HEX[bytes[k]] === 0) return -1;
        if ((bytes[i + 2] | 0x20) === 0x64 && SURROGATE_SECOND[bytes[i + 3]] === 1) {
          surrogate = true;
        }
        i += 6;
      } else if (i + 1 < end && ESCAPES[next] === 1) {
        i += 2;
      } else {
        return -1;
      }
    } else if (byte < 0x20) {
      return -1; // a raw control byte
    } else if (byte < 0x80) {
      i++;
    } else {
      i = utf8End(bytes, i, end);
      if (i < 0) return -1;
    }
  }
  return -1; // no closing quote
}

/** Just after the UTF-8 sequence at `i` (its lead byte is >= 0x80); -1 if it is not one. */
function utf8End(bytes: Uint8Array, i: number, end: number): number {
  const lead = bytes[i];
  let length: number;
  let low = 0x80;
  let high = 0xbf; // the second byte's range
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead === 0xe0) low = 0xa0; // no overlong form
    if (lead === 0xed) high = 0x9f; // no surrogate
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead === 0xf0) low = 0x90;
    if (lead === 0xf4) high = 0x8f; // nothing past U+10FFFF
  } else {
    return -1;
  }
  if (i + length > end) return -1;
  const second = bytes[i + 1];
  if (second < low || second > high) return -1;
  for (let k = i + 2; k < i + length; k++) if ((bytes[k] & 0xc0) !== 0x80) return -1;
  return i + length;
}

/** Just after the number, `true`, `false` or `null` at `i`; -1 if there is none. */
function scalarEnd(bytes: Uint8Array, i: number, end: number): number {
  const byte = bytes[i];
  if (byte === 0x74) return literalEnd(bytes, i, end, TRUE);
  if (byte === 0x66) return literalEnd(bytes, i, end, FALSE);
  if (byte === 0x6e) return literalEnd(bytes, i, end, NULL);
  if (byte === 0x2d) i++;
  if (i >= end) return -1;
  if (bytes[i] === 0x30) {
    i++; // a leading zero stands alone: 007 is not a number
  } else if (bytes[i] >= 0x31 && bytes[i] <= 0x39) {
    i = digitsEnd(bytes, i, end);
  } else {
    return -1;
  }
  if (i < end && bytes[i] === 0x2e) {
    const fraction = digitsEnd(bytes, i + 1, end);
    if (fraction === i + 1) return -1;
    i = fraction;
  }
  if (i < end && (bytes[i] === 0x65 || bytes[i] === 0x45)) {
    i++;
    if (i < end && (bytes[i] === 0x2b || bytes[i] === 0x2d)) i++;
    const exponent = digitsEnd(bytes, i, end);
    if (exponent === i) return -1;
    i = exponent;
  }
  return i;
}

function digitsEnd(bytes: Uint8Array, i: number, end: number): number {
  while (i < end && bytes[i] >= 0x30 && bytes[i] <= 0x39) i++;
  return i;
}

function literalEnd(bytes: Uint8Array, i: number, end: number, literal: number[]): number {
  if (i + literal.length > end) return -1;
  for (let k = 0; k < literal.length; k++) if (bytes[i + k] !== literal[k]) return -1;
  return i + literal.length;
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** 1 for the bytes a `\` escape may be followed by (besides `u`): `"` `\` `/` b f n r t. */
const ESCAPES = new Uint8Array(256);
for (const c of '"\\/bfnrt') ESCAPES[c.charCodeAt(0)] = 1;

/** 1 for the bytes a string holds as they are: 0x20-0x7f but `"` and `\`. */
const PLAIN_IN_STRING = new Uint8Array(256);
for (let byte = 0x20; byte < 0x80; byte++) PLAIN_IN_STRING[byte] = 1;
PLAIN_IN_STRING[0x22] = PLAIN_IN_STRING[0x5c] = 0;

/** 1 for the second hex digit of a surrogate code unit (`\uD8xx`-`\uDFxx`): 8-9, a-f. */
const SURROGATE_SECOND = new Uint8Array(256);
for (const c of "89abcdefABCDEF") SURROGATE_SECOND[c.charCodeAt(0)] = 1;

/** 1 for hexadecimal digits. */
const HEX = new Uint8Array(256);
for (const c of "0123456789abcdefABCDEF") HEX[c.charCodeAt(0)] = 1;
