/**
 * The text pass over a JSON trace file: copies each event's bytes to the output and patches only
 * its `ts` and `pid` in place, instead of parsing and re-serialising it. Events the patcher cannot
 * handle as bytes (spread over several lines, a `ts` that is not a plain number, a string with a
 * surrogate escape, which tracer never writes: see json_text.ts) go through `JSON.parse` and
 * `jsonText` and come out the same as on the parsed path.
 * @module
 */
import { COMMA, NEWLINE } from "../bytes/ascii.ts";
import { MAX_EXACT } from "../bytes/ascii_number.ts";
import { FileScan } from "./_json_file.ts";
import {
  PHASE_BYTE,
  PHASE_M,
  PHASE_REWRITE,
  SPAN_END,
  SPAN_PHASE,
  SPAN_PID,
  SPAN_PID_END,
  SPAN_START,
  SPAN_STRIDE,
  SPAN_TID,
  SPAN_TID_END,
  SPAN_TS,
  SPAN_TS_END,
  type TraceFileInfo,
} from "./_json_scanner.ts";
import { parseNumber } from "./_json_values.ts";
import { type Id, idOfBytes } from "./_ids.ts";
import type { EventText } from "./_event_text.ts";
import { checkJson, JsonCheck } from "./_json_valid.ts";
import { type FilePlan, placeEvent } from "./_plan.ts";
import type { Tally } from "./_tally.ts";
import { isTraceEvent, type TraceEvent } from "../trace_event.ts";

/**
 * Appends the events of the file `plan` places to `text`, yielding after each chunk of input;
 * returns what the scan found. With `countThreads`, tells `tally` each thread it meets.
 */
export async function* patchedEventText(
  plan: FilePlan,
  text: EventText,
  tally: Tally,
  options: { countThreads: boolean; stop?: AbortSignal },
): AsyncGenerator<void, TraceFileInfo> {
  const patcher = new EventPatcher(plan, text, tally, options.countThreads);
  const scan = new FileScan(plan.path, (bytes, spans) => patcher.patch(bytes, spans), options.stop);
  yield* scan.chunks();
  return scan.finish(patcher);
}

/** Writes the elements of each scanned chunk, patched, to the output. */
class EventPatcher {
  events = 0;
  skipped = 0;
  readonly #plan: FilePlan;
  readonly #text: EventText;
  readonly #tally: Tally;
  readonly #countThreads: boolean;
  /** The thread of the last event counted: consecutive events mostly share one. */
  #lastPid: Id | undefined;
  #lastTid: Id | undefined;
  readonly #decoder = new TextDecoder();

  constructor(plan: FilePlan, text: EventText, tally: Tally, countThreads: boolean) {
    this.#plan = plan;
    this.#text = text;
    this.#tally = tally;
    this.#countThreads = countThreads;
  }

  /**
   * The hot loop, per event: kept in one piece (a call per field patch measured slower). The
   * bytes after the last patch are copied late, so that a run of events separated by ",\n" in the
   * input goes out in one copy per patch instead of two per event.
   */
  patch(bytes: Uint8Array, spans: number[]): void {
    const plan = this.#plan;
    const text = this.#text;
    const out = text.out;
    const stats = this.#tally.stats;
    const countThreads = this.#countThreads;
    let events = this.events;
    let skipped = this.skipped;
    const shifting = plan.shift !== 0;
    const remapping = plan.pidMap.size > 0;
    let pending = -1;
    let pendingEnd = -1;
    const flush = () => {
      if (pending >= 0) out.copy(bytes, pending, pendingEnd);
      pending = -1;
    };
    const count = spans.length / SPAN_STRIDE;
    out.reserve(spans[spans.length - SPAN_STRIDE + SPAN_END] - spans[SPAN_START] + count * 16);
    for (let k = 0; k < spans.length; k += SPAN_STRIDE) {
      const phase = spans[k + SPAN_PHASE];
      if (phase === 0) {
        skipped++;
        continue;
      }
      events++;
      if (countThreads) this.#countThread(bytes, k, spans);
      const start = spans[k + SPAN_START];
      const end = spans[k + SPAN_END];
      let tsNs: number | undefined;
      let pidText: string | undefined;
      // Copied as bytes only when they are valid JSON: a malformed element is parsed (and so
      // written again, or left out and counted) rather than copied into the output.
      let simple = phase < PHASE_REWRITE && checkJson(bytes, start, end) === JsonCheck.copy;
      const tsStart = spans[k + SPAN_TS];
      const pidStart = spans[k + SPAN_PID];
      if (simple && shifting && (phase & PHASE_BYTE) !== PHASE_M && tsStart >= 0) {
        const ts = parseNumber(bytes, tsStart, spans[k + SPAN_TS_END]);
        const ns = Math.round((ts + plan.shift) * 1000);
        if (Math.abs(ns) < MAX_EXACT) tsNs = ns;
        else simple = false;
      }
      if (simple && remapping && pidStart >= 0) {
        const mapped = plan.pidMap.get(idOfBytes(bytes, pidStart, spans[k + SPAN_PID_END]));
        if (mapped !== undefined) pidText = String(mapped);
      }
      if (!simple) {
        flush();
        if (!this.#rewrite(bytes.subarray(start, end))) {
          events--;
          skipped++;
        }
        continue;
      }
      const joined = pending >= 0 && start === pendingEnd + 2 && bytes[pendingEnd] === COMMA &&
        bytes[pendingEnd + 1] === NEWLINE;
      if (!joined) {
        flush();
        text.separate();
      }
      stats.events++;
      // Patch up to two fields, in the order they appear.
      let at = joined ? pending : start;
      const pidFirst = pidText !== undefined && (tsNs === undefined || pidStart < tsStart);
      if (pidFirst) {
        out.copy(bytes, at, pidStart);
        out.ascii(pidText!);
        at = spans[k + SPAN_PID_END];
      }
      if (tsNs !== undefined) {
        out.copy(bytes, at, tsStart);
        out.thousandths(tsNs);
        at = spans[k + SPAN_TS_END];
      }
      if (pidText !== undefined && !pidFirst) {
        out.copy(bytes, at, pidStart);
        out.ascii(pidText);
        at = spans[k + SPAN_PID_END];
      }
      pending = at;
      pendingEnd = end;
    }
    flush();
    this.events = events;
    this.skipped = skipped;
  }

  /**
   * An event the patcher cannot handle as bytes: parsed, placed and written again. False when it
   * is not a trace event after all.
   */
  #rewrite(element: Uint8Array): boolean {
    const event = parseEvent(this.#decoder.decode(element));
    if (event === undefined) return false;
    placeEvent(event, this.#plan);
    this.#text.appendObject(event);
    this.#tally.stats.events++;
    return true;
  }

  #countThread(bytes: Uint8Array, k: number, spans: number[]): void {
    const pidStart = spans[k + SPAN_PID];
    const tidStart = spans[k + SPAN_TID];
    if (pidStart < 0 || tidStart < 0) return;
    const pid = idOfBytes(bytes, pidStart, spans[k + SPAN_PID_END]);
    const tid = idOfBytes(bytes, tidStart, spans[k + SPAN_TID_END]);
    if (pid === this.#lastPid && tid === this.#lastTid) return;
    this.#lastPid = pid;
    this.#lastTid = tid;
    this.#tally.thread(this.#plan.pidMap.get(pid) ?? pid, tid);
  }
}

function parseEvent(text: string): TraceEvent | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isTraceEvent(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
