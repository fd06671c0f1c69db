/**
 * `--flight S` in a combined output: its `otherData.flight_s` says the window, and one warning
 * (stderr and the report's banner) says that only the last S seconds of each process are kept.
 * @module
 */
import type { CombinedTrace } from "../trace_event.ts";
import { sourceRecords } from "../trace_metadata.ts";

/**
 * Marks `trace` when any of its processes was recorded with `--flight` (their `otherData.flight_s`;
 * the largest one when they differ). Said once, even when an input already said it.
 */
export function noteFlight(trace: CombinedTrace): void {
  let seconds = 0;
  for (const source of sourceRecords(trace.metadata)) {
    const other = source.otherData as Record<string, unknown> | undefined;
    const value = other?.flight_s;
    if (typeof value === "number" && Number.isFinite(value)) seconds = Math.max(seconds, value);
  }
  if (seconds <= 0) return;
  trace.metadata.flight_s = seconds;
  const message = `flight recorder: only the last ${seconds} s of each process are kept`;
  if (trace.warnings.some((warning) => warning.message === message)) return;
  trace.warnings.push({ message });
  trace.metadata.warnings = trace.warnings;
}
