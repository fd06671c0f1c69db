/**
 * Keeping some calls of an events block (its numbers: tid, count, then start, dur and name id per
 * call), as the flight window and the event cap do.
 * @module
 */

/**
 * The numbers of an events block with only the calls `keep` takes (told each call's start, end
 * and thread, in order); the block itself when it takes them all, else a copy.
 */
export function keptCalls(
  numbers: Float64Array,
  keep: (startNs: number, endNs: number, tid: number) => boolean,
): Float64Array {
  const to = 2 + 3 * numbers[1];
  const kept: number[] = [];
  for (let i = 2; i < to; i += 3) {
    if (keep(numbers[i], numbers[i] + numbers[i + 1], numbers[0])) {
      kept.push(numbers[i], numbers[i + 1], numbers[i + 2]);
    }
  }
  if (kept.length === to - 2) return numbers;
  const out = new Float64Array(2 + kept.length);
  out[0] = numbers[0];
  out[1] = kept.length / 3;
  out.set(kept, 2);
  return out;
}
