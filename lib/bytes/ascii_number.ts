/**
 * Decimal digits written straight into byte buffers, for the JSON writers' hot loops.
 * @module
 */

/**
 * Writes a non-negative integer below 2^53 in decimal at `pos`; returns the index after it.
 * Split into a high part and the low 8 digits (zero-padded) so each part fits int32 math.
 */
export function writeWholeNumber(buf: Uint8Array, pos: number, value: number): number {
  const high = Math.floor(value / 1e8);
  if (high === 0) return writeSmall(buf, pos, value);
  pos = writeSmall(buf, pos, high);
  let low = value - high * 1e8;
  for (let i = pos + 7; i >= pos; i--) {
    const next = (low / 10) | 0;
    buf[i] = 0x30 + low - next * 10;
    low = next;
  }
  return pos + 8;
}

function writeSmall(buf: Uint8Array, pos: number, value: number): number {
  let end = pos + 1;
  for (let rest = value; rest >= 10; rest = (rest / 10) | 0) end++;
  for (let i = end - 1; i >= pos; i--) {
    const next = (value / 10) | 0;
    buf[i] = 0x30 + value - next * 10;
    value = next;
  }
  return end;
}

/** Integers below this are exact in a double (ts in nanoseconds: 104 days of uptime). */
export const MAX_EXACT = 2 ** 53;

/**
 * Writes integer nanoseconds as microseconds with three decimals (`"%d.%03d"`: `1234567` ->
 * `1234.567`) at `pos`, for `0 <= ns < 2^53`; returns the index after it.
 */
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

/**
 * Writes `ns / 1000` exactly as `String(ns / 1000)` would, for an integer `ns` with
 * `|ns| < 2^53`, at `pos` (at most 24 bytes); returns the index after it.
 */
export function writeThousandths(buf: Uint8Array, pos: number, ns: number): number {
  if (ns < 0) {
    buf[pos++] = 0x2d;
    ns = -ns;
  }
  const whole = Math.floor(ns / 1000);
  const fraction = ns - whole * 1000;
  pos = writeWholeNumber(buf, pos, whole);
  if (fraction !== 0) {
    const hundreds = (fraction / 100) | 0;
    const rest = fraction - hundreds * 100;
    const tens = (rest / 10) | 0;
    const ones = rest - tens * 10;
    buf[pos++] = 0x2e;
    buf[pos++] = 0x30 + hundreds;
    if (rest !== 0) buf[pos++] = 0x30 + tens;
    if (ones !== 0) buf[pos++] = 0x30 + ones;
  }
  return pos;
}
