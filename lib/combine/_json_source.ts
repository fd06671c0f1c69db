/**
 * A Chrome Trace Event JSON file as a combine input: tracer's own per-process files are placed
 * from their ends, any other file by a first pass over its events (lib/combine/_json_scanner.ts).
 * @module
 */
import { FileScan, readTracerFileEnds } from "./_json_file.ts";
import {
  PHASE_BYTE,
  PHASE_M,
  SPAN_PHASE,
  SPAN_PID,
  SPAN_PID_END,
  SPAN_STRIDE,
  SPAN_TID,
  SPAN_TID_END,
  SPAN_TS,
  SPAN_TS_END,
} from "./_json_scanner.ts";
import { EventParser, parseNumber } from "./_json_values.ts";
import { type Id, idOfBytes, idOfValue, IdSet, ThreadSet } from "./_ids.ts";
import type { EventText } from "./_event_text.ts";
import { patchedEventText } from "./_json_text.ts";
import { type FilePlan, type FileProbe, isAbsurdTs, placeEvent } from "./_plan.ts";
import { type CombineSource, probeFromEnds } from "./source.ts";
import type { TraceFileInfo } from "./_json_scanner.ts";
import type { Tally } from "./_tally.ts";
import type { TraceEvent } from "../trace_event.ts";
import { readEnd, readStart } from "../trace_metadata.ts";

/** The JSON trace file at `path` as a combine input. */
/** The source of a Chrome trace JSON file (gzipped or not); `stop` ends a pass at its next chunk. */
export function jsonFileSource(path: string, stop?: AbortSignal): CombineSource {
  return new JsonFileSource(path, stop);
}

class JsonFileSource implements CombineSource {
  /** False for a file placed from its ends: its threads and damage are found by the second pass. */
  #scanned = false;
  /** What the first pass counted (scanned files): elements taken as events, and not. */
  #first = { events: 0, skipped: 0 };

  constructor(readonly path: string, readonly stop?: AbortSignal) {}

  async probe(): Promise<FileProbe> {
    const ends = await readTracerFileEnds(this.path);
    const placed = ends && probeFromEnds(this.path, ends, new ThreadSet());
    if (placed !== undefined) return placed;
    this.#scanned = true;
    const probe = await scanFile(this.path, this.stop);
    this.#first = { events: probe.info.events, skipped: probe.info.skipped };
    return probe;
  }

  /** After the second pass: what it found beyond what the first pass reported. */
  #secondPass(path: string, tally: Tally, info: TraceFileInfo): void {
    if (!this.#scanned) return tally.lateDamage(path, info);
    tally.recount(path, this.#first, { events: info.events, skipped: info.skipped });
  }

  async *events(plan: FilePlan, tally: Tally): AsyncGenerator<TraceEvent[]> {
    const parser = new EventParser();
    let batch: TraceEvent[] = [];
    let lastPid: unknown = undefined;
    let lastTid: unknown = undefined;
    const scan = new FileScan(
      plan.path,
      (bytes, spans) => parser.parse(bytes, spans, batch),
      this.stop,
    );
    for await (const _ of scan.chunks()) {
      if (batch.length === 0) continue;
      for (const event of batch) {
        placeEvent(event, plan);
        if (!this.#scanned && (event.pid !== lastPid || event.tid !== lastTid)) {
          lastPid = event.pid;
          lastTid = event.tid;
          if (event.pid !== undefined && event.tid !== undefined) {
            tally.thread(idOfValue(event.pid), idOfValue(event.tid));
          }
        }
      }
      tally.stats.events += batch.length;
      yield batch;
      batch = [];
    }
    this.#secondPass(plan.path, tally, scan.finish(parser));
  }

  async *text(plan: FilePlan, out: EventText, tally: Tally): AsyncGenerator<void> {
    const info = yield* patchedEventText(plan, out, tally, {
      countThreads: !this.#scanned,
      stop: this.stop,
    });
    this.#secondPass(plan.path, tally, info);
  }
}

/** The first pass over a file: its earliest `ts`, pids and threads, without parsing events. */
async function scanFile(path: string, stop: AbortSignal | undefined): Promise<FileProbe> {
  const pids = new IdSet();
  const threads = new ThreadSet();
  let minTs = Infinity;
  let absurdTs: { count: number; first: number } | undefined;
  let events = 0;
  let skipped = 0;
  // Consecutive events mostly share a thread: the last one seen is not looked up again.
  let lastPid: Id | undefined;
  let lastTid: Id | undefined;
  const scan = new FileScan(path, (bytes, spans) => {
    for (let k = 0; k < spans.length; k += SPAN_STRIDE) {
      if (spans[k + SPAN_PHASE] === 0) {
        skipped++;
        continue;
      }
      events++;
      const pidStart = spans[k + SPAN_PID];
      const tidStart = spans[k + SPAN_TID];
      if (pidStart >= 0) {
        const pid = idOfBytes(bytes, pidStart, spans[k + SPAN_PID_END]);
        const tid = tidStart < 0 ? undefined : idOfBytes(bytes, tidStart, spans[k + SPAN_TID_END]);
        if (pid !== lastPid || tid !== lastTid) {
          lastPid = pid;
          lastTid = tid;
          if (tid === undefined || threads.add(pid, tid)) pids.add(pid);
        }
      }
      const tsStart = spans[k + SPAN_TS];
      if ((spans[k + SPAN_PHASE] & PHASE_BYTE) !== PHASE_M && tsStart >= 0) {
        const ts = parseNumber(bytes, tsStart, spans[k + SPAN_TS_END]);
        if (isAbsurdTs(ts)) {
          absurdTs ??= { count: 0, first: ts };
          absurdTs.count++;
        } else if (ts < minTs) {
          minTs = ts;
        }
      }
    }
  }, stop);
  for await (const _ of scan.chunks()) { /* the sink does the work */ }
  const info = scan.finish({ events, skipped });
  const { otherData, tracerEnd } = info.metadata;
  return {
    path,
    info,
    start: readStart(otherData),
    end: readEnd(tracerEnd),
    minTs,
    ...(absurdTs === undefined ? {} : { absurdTs }),
    pids,
    threads,
  };
}
