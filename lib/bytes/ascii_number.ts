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
