/**
 * `--flight S` on the reading side: a file whose header has `flight_s` keeps only what ended within
 * the last S seconds before its process's end (docs/internals.md, 2a, "Flight recorder"). The end
 * is the latest of the end record's `end_mono_ns` (a snapshot's copy has one too: the moment it
 * was taken) and the latest clock the file shows (a killed process's last moment). Calls and
 * spans still open at the end are kept whenever they started; names are kept.
 *
 * The first reading of a file ({@linkcode FlightClock}) finds the end and the spans still open
 * there; the second ({@linkcode FlightWindow}) drops what ended before the window.
 * @module
 */
import type { TraceEvent } from "../trace_event.ts";
import { headerValue } from "./header.ts";
import { keptCalls } from "./kept_calls.ts";

/** `otherData.flight_s` of a header's JSON text: the window in seconds, or 0 (no flight). */
export function flightSeconds(headerText: string): number {
  const value = headerValue(headerText, "flight_s");
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;
}

/** What the first reading of a flight file notes: the latest clock, the spans left open. */
export class FlightClock {
  #latestNs = -Infinity;
  /** tid -> the starts (ns) of its spans open so far, in order. */
  readonly #spans = new Map<number, number[]>();

  constructor(readonly seconds: number) {}

  /** An events block's numbers: tid, count, then (start_ns, dur_ns, name_id) slots. */
  noteNumbers(numbers: Float64Array): void {
    const to = 2 + 3 * numbers[1];
    for (let i = 2; i < to; i += 3) {
      this.#latestNs = Math.max(this.#latestNs, numbers[i] + numbers[i + 1]);
    }
  }

  /** Events written whole (calls with values, instants, counters, spans, ...). */
  noteEvents(events: TraceEvent[]): void {
    for (const event of events) {
      const end = endNs(event);
      if (end === undefined) continue;
      this.#latestNs = Math.max(this.#latestNs, end);
      if (event.ph !== "B" && event.ph !== "E") continue;
      const tid = Number(event.tid);
      const spans = this.#spans.get(tid) ?? [];
      if (event.ph === "B") spans.push(end);
      else spans.pop();
      this.#spans.set(tid, spans);
    }
  }

  /** The start (ns) of an open call. */
  noteStart(startNs: number): void {
    this.#latestNs = Math.max(this.#latestNs, startNs);
  }

  /**
   * The window: its end is `end_mono_ns` (when there is one) or the latest clock, whichever is
   * later; undefined when the file shows no clock at all (nothing to trim).
   */
  window(endMonoNs: number | undefined): FlightWindow | undefined {
    const toNs = Math.max(endMonoNs ?? -Infinity, this.#latestNs);
    if (toNs === -Infinity) return undefined;
    return new FlightWindow(toNs - this.seconds * 1e9, toNs, this.seconds, this.#spans);
  }
}

/** The events kept of a flight file: those that end at `fromNs` or later. */
export class FlightWindow {
  /** tid -> whether each of its spans open so far was kept, in order. */
  readonly #kept = new Map<number, boolean[]>();
  /** tid -> the starts (ns) of its spans still open at the end: kept whenever they started. */
  readonly #openAtEnd: Map<number, Set<number>>;

  constructor(
    readonly fromNs: number,
    readonly toNs: number,
    readonly seconds: number,
    openSpans: ReadonlyMap<number, number[]>,
  ) {
    this.#openAtEnd = new Map([...openSpans].map(([tid, starts]) => [tid, new Set(starts)]));
  }

  /** An events block's numbers with only the calls that end in the window (a copy). */
  numbers(numbers: Float64Array): Float64Array {
    return keptCalls(numbers, (_start, end) => end >= this.fromNs);
  }

  /**
   * The events written whole that are kept: metadata always; a span's `B` when it starts in the
   * window or is still open at the end, its `E` when its `B` was kept; any other event when it
   * ends in the window.
   */
  events(events: TraceEvent[]): TraceEvent[] {
    return events.filter((event) => {
      const end = endNs(event);
      if (end === undefined || event.ph === "M") return true;
      if (event.ph === "B" || event.ph === "E") return this.#span(event, end);
      return end >= this.fromNs;
    });
  }

  #span(event: TraceEvent, ts: number): boolean {
    const tid = Number(event.tid);
    const kept = this.#kept.get(tid) ?? [];
    this.#kept.set(tid, kept);
    if (event.ph === "E") return kept.pop() ?? false;
    const keep = ts >= this.fromNs || (this.#openAtEnd.get(tid)?.has(ts) ?? false);
    kept.push(keep);
    return keep;
  }
}

/** Where an event ends (ns): `ts` plus `dur` when it has one; undefined without a numeric `ts`. */
function endNs(event: TraceEvent): number | undefined {
  if (typeof event.ts !== "number") return undefined;
  const dur = typeof event.dur === "number" ? event.dur : 0;
  return Math.round(event.ts * 1000) + Math.round(dur * 1000);
}
