/**
 * The note for JSON outputs whose stacks are deeper than Perfetto UI draws: past 512 levels it
 * drops a slice's parent, so a deep recursion shows as 512 levels plus parentless slices at depth
 * 0, and says nothing. tracer's HTML report (and speedscope) show every level.
 * @module
 */
import { readEnd, readStart, sourceRecords } from "../trace_metadata.ts";
import type { TraceWarning } from "../trace_event.ts";

/** The most nested slice levels Perfetto UI (v52) keeps: depths 0-511. */
export const PERFETTO_MAX_DEPTH = 512;

/** One warning per process whose `tracerEnd.deepest_stack` is past `PERFETTO_MAX_DEPTH`. */
export function deepStackWarnings(metadata: Record<string, unknown>): TraceWarning[] {
  const warnings: TraceWarning[] = [];
  for (const source of sourceRecords(metadata)) {
    const deepest = readEnd(source.tracerEnd)?.deepestStack;
    if (deepest === undefined || deepest <= PERFETTO_MAX_DEPTH) continue;
    const pid = readStart(source.otherData).pid ?? "?";
    warnings.push({
      source: `process ${pid}`,
      message: `call stacks ${deepest} deep: Perfetto UI shows ${PERFETTO_MAX_DEPTH} levels ` +
        `and draws deeper calls at depth 0 without their callers; the HTML report (-o x.html) ` +
        `shows every level`,
    });
  }
  return warnings;
}

/** Appends the warnings `to` does not hold yet (a combined input may carry the same ones). */
export function addWarnings(to: TraceWarning[], warnings: TraceWarning[]): void {
  const held = new Set(to.map((warning) => `${warning.source}\n${warning.message}`));
  for (const warning of warnings) {
    if (!held.has(`${warning.source}\n${warning.message}`)) to.push(warning);
  }
}
