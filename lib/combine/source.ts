/**
 * The seam between combine and its inputs: a {@linkcode CombineSource} is one input file in any
 * form (a Chrome trace JSON file, lib/combine/_json_source.ts; a tracer raw file,
 * lib/combine/raw_source.ts), read in two passes: `probe` for placement, then `events` or `text`
 * for the output.
 * @module
 */
import type { TraceFileInfo } from "./_json_scanner.ts";
import type { EventText } from "./_event_text.ts";
import { type FilePlan, type FileProbe, isAbsurdTs } from "./_plan.ts";
import type { Tally } from "./_tally.ts";
import type { TraceEvent } from "../trace_event.ts";
import { idOfValue, IdSet, type ThreadSet } from "./_ids.ts";
import { type JsonObject, readEnd, readStart } from "../trace_metadata.ts";

/** One input of a combine. */
export interface CombineSource {
  /** The file it is known by: in warnings, `process_labels`, `sources[].file`, `exec_of` links. */
  readonly path: string;
  /** The first pass: what placing the file needs. Called once, before `events` or `text`. */
  probe(): Promise<FileProbe>;
  /** The second pass, as objects: the events moved by `plan`, in batches. */
  events(plan: FilePlan, tally: Tally): AsyncGenerator<TraceEvent[]>;
  /** The second pass, as JSON text: appends the events moved by `plan` to `out`, yielding often. */
  text(plan: FilePlan, out: EventText, tally: Tally): AsyncGenerator<void>;
}

/**
 * A tracer per-process file that ended well is placed from its two ends alone: `otherData` says
 * which pid it holds and `tracerEnd.first_ts` where its events start, so it needs no first pass.
 * Returns undefined for any other file.
 */
export function probeFromEnds(
  path: string,
  ends: { otherData: JsonObject; tracerEnd: JsonObject },
  threads: ThreadSet,
): FileProbe | undefined {
  const start = readStart(ends.otherData);
  const end = readEnd(ends.tracerEnd);
  if (
    start.version === undefined || typeof start.pid !== "number" || end?.firstTs === undefined ||
    isAbsurdTs(end.firstTs) || end.events === undefined || end.events <= 0
  ) {
    return undefined;
  }
  const info: TraceFileInfo = {
    form: "object",
    metadata: { otherData: ends.otherData, tracerEnd: ends.tracerEnd },
    events: end.events,
    skipped: 0,
    bytes: 0,
    lostBytes: 0,
    truncated: false,
  };
  return {
    path,
    info,
    start,
    end,
    minTs: end.firstTs,
    pids: pidSet(idOfValue(start.pid)),
    threads,
  };
}

function pidSet(pid: number | string): IdSet {
  const pids = new IdSet();
  pids.add(pid);
  return pids;
}
