/**
 * Test support: builds a viewer model straight from events (writer encode -> viewer decode),
 * without compression or a browser.
 * @module
 */
import { concatBytes } from "../bytes/concat.ts";
import { type BuilderLimits, ReportBuilder } from "./_report_data.ts";
import type { CombineStats, TraceEvent, TraceWarning } from "../trace_event.ts";
import type { Model } from "../viewer/model.ts";
import { openModel } from "../viewer/open_model.ts";

/** Encodes `events` as the report does and decodes them as the page does. */
export function modelFromEvents(
  events: TraceEvent[],
  options: {
    warnings?: TraceWarning[];
    metadata?: Record<string, unknown>;
    /** The builder's memory limits: small ones make it use its scratch files. */
    limits?: BuilderLimits;
  } = {},
): Model {
  const builder = new ReportBuilder(options.limits);
  try {
    for (const event of events) builder.add(event);
    const header = builder.header({
      warnings: options.warnings ?? [],
      metadata: options.metadata ?? {},
      stats: singleFileStats(events.length),
    });
    return openModel(concatBytes([...builder.encode(header)]));
  } finally {
    builder.close();
  }
}

/** The counts of one file with one process and thread holding `events` events. */
export function singleFileStats(events: number): CombineStats {
  return { files: 1, processes: 1, threads: 1, events, droppedEvents: 0, salvagedFiles: 0 };
}

/** Shorthand for an X event in microseconds. */
export function slice(
  name: string,
  ts: number,
  dur: number,
  where: { pid?: number; tid?: number; args?: Record<string, unknown> } = {},
): TraceEvent {
  const event: TraceEvent = {
    ph: "X",
    name,
    ts,
    dur,
    pid: where.pid ?? 1,
    tid: where.tid ?? 1,
    cat: "py",
  };
  if (where.args) event.args = where.args;
  return event;
}
