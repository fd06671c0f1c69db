/**
 * Counter series (Trace Event `C`): the value a counter held at a time, and its value as text.
 * Pure: no DOM.
 * @module
 */
import type { CounterSeries } from "../report_format.ts";

/**
 * The sample of `series` in force at time `t` (the last one at or before it: a counter holds its
 * value until the next sample), or undefined before the first.
 */
export function counterSampleAt(
  series: CounterSeries,
  t: number,
): { t: number; value: number } | undefined {
  const points = series.points;
  let lo = 0;
  let hi = points.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[2 * mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return undefined;
  return { t: points[2 * (lo - 1)], value: points[2 * (lo - 1) + 1] };
}

/** A counter value as short text: up to 3 decimals, exponent notation when huge or tiny. */
export function formatCounterValue(value: number): string {
  return Math.abs(value) >= 1e6 || (Math.abs(value) < 1e-3 && value !== 0)
    ? value.toExponential(2)
    : String(Math.round(value * 1000) / 1000);
}
