/**
 * Trace Event Format types shared by combine, the writers and the viewer.
 * No Deno APIs here: the viewer bundle imports this module too.
 * @module
 */

/** One Chrome Trace Event; only `ph` is required, everything else depends on the phase. */
export interface TraceEvent {
  ph: string;
  name?: string;
  cat?: string;
  pid?: number | string;
  tid?: number | string;
  ts?: number;
  dur?: number;
  args?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A problem met while running or combining, shown in the summary and on top of the report. */
export interface TraceWarning {
  /** The file (or process) the warning is about, when there is one. */
  source?: string;
  /** One line, no trailing period needed. */
  message: string;
}

/** Counts for the summary line and the report header. */
export interface CombineStats {
  files: number;
  processes: number;
  threads: number;
  events: number;
  droppedEvents: number;
  salvagedFiles: number;
}

/** Many trace files merged onto one timeline, consumed once by a writer. */
export interface CombinedTrace {
  /**
   * Every event on one timeline (microseconds from the earliest event), in batches (one await per
   * batch, not per event: that alone once cost a tenth of an 8 M-event report); iterate once.
   */
  events: AsyncIterable<TraceEvent[]>;
  /** Merged top-level metadata; complete once `events` is exhausted. */
  metadata: Record<string, unknown>;
  /** Grows while `events` is iterated; complete once it is exhausted. */
  warnings: TraceWarning[];
  /** Final once `events` is exhausted. */
  stats: CombineStats;
}

/** True for a `TraceEvent`-shaped value: an object with a string `ph`. */
export function isTraceEvent(value: unknown): value is TraceEvent {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    typeof (value as { ph?: unknown }).ph === "string";
}
