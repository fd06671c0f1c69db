/**
 * Merging many Chrome trace files into one stream of events on one timeline, in bounded memory.
 *
 * Timeline rule: every `ts` becomes microseconds from the earliest event of all inputs. With
 * `align`, each file is shifted so its own first event starts at 0. Otherwise files are placed by
 * their clock metadata: tracer's per-process files carry `otherData.clock` (`epoch_ns`, `mono_ns`)
 * with `host` and `boot_id`; files from one host and boot share the monotonic clock and keep their
 * `ts` as is; when files come from several hosts (or boots), each host's monotonic times are moved
 * to wall-clock time (epoch minus monotonic offset, read at process start). Files without clock
 * metadata (VizTracer, Chrome, Perfetto exports, earlier combines) are used as they are.
 *
 * Process ids: two files that use the same pid but are not the same process (another run, another
 * host, a reused pid) are kept apart: the later file's pid becomes a fresh number above any real
 * pid, and a `process_labels` metadata event names the original pid and file. A tracer file whose
 * `otherData.exec_of` names an earlier file of the same pid is that process after `exec`, and
 * keeps its pid.
 *
 * Reading: a tracer per-process file that ended well is placed from its two ends alone (the first
 * line's `otherData` and the last line's `tracerEnd.first_ts`, its earliest `ts`), so it is read
 * once. Any other file gets a first pass that finds its earliest `ts`, its pids and threads without
 * parsing events. The second pass streams the events, file by file; with the JSON writer, events
 * are copied as bytes with only `ts` and `pid` rewritten. A traced run hands over its raw files
 * already probed (lib/combine/raw_source.ts): their events are formatted straight from the binary
 * records, exactly as the converted JSON files would have been combined.
 * @module
 */
import { TracerError } from "../errors.ts";
import {
  canonicalJson,
  EventParser,
  FileScan,
  parseNumber,
  PHASE_BYTE,
  readTracerFileEnds,
  SeenThreads,
  SPAN_PHASE,
  SPAN_PID,
  SPAN_PID_END,
  SPAN_STRIDE,
  SPAN_TID,
  SPAN_TID_END,
  SPAN_TS,
  SPAN_TS_END,
} from "./event_reader.ts";
import type { CombinedTrace, CombineStats, TraceEvent, TraceWarning } from "../trace_event.ts";
import { rawEventChunks } from "./event_text.ts";
import { strictError, Tally } from "./tally.ts";
import { rawPlanEvents } from "./raw_source.ts";
import { type FilePlan, type FileProbe, placeEvent, planFiles } from "./plan.ts";

export { expandInputs } from "./inputs.ts";
export type { FilePlan, FileProbe } from "./plan.ts";

/** How to combine. */
export interface CombineOptions {
  /** --align_combine: shift each file so its first event starts at 0. */
  align?: boolean;
  /** --strict: any damage is fatal (TracerError). */
  strict?: boolean;
  /** Extra warnings from the run stage, carried into the output and the report. */
  warnings?: TraceWarning[];
}

/** A combined trace that can also hand its events over as JSON text, skipping parse/stringify. */
export interface CombinedTraceText extends CombinedTrace {
  /**
   * The events as UTF-8 JSON text, one per line, separated by `,\n`; use this or `events`.
   * A chunk is only valid until the next one is requested.
   */
  eventText(): AsyncIterable<Uint8Array>;
}

const PHASE_M = 0x4d;

/**
 * A tracer per-process file that ended well says where its events start (`tracerEnd.first_ts`)
 * and which pid it holds (`otherData.pid`): it needs no first pass.
 */
async function probeByMetadata(path: string): Promise<FileProbe | undefined> {
  const ends = await readTracerFileEnds(path);
  if (ends === undefined) return undefined;
  const { otherData, tracerEnd } = ends;
  const firstTs = tracerEnd.first_ts;
  if (
    typeof otherData.tracer_version !== "number" || typeof otherData.pid !== "number" ||
    typeof firstTs !== "number" || !Number.isFinite(firstTs)
  ) {
    return undefined;
  }
  const events = tracerEnd.events;
  if (typeof events !== "number" || events <= 0) return undefined;
  return {
    path,
    info: {
      form: "object",
      metadata: { otherData, tracerEnd },
      events,
      skipped: 0,
      bytes: 0,
      lostBytes: 0,
      truncated: false,
    },
    minTs: firstTs,
    pids: new Set([JSON.stringify(otherData.pid)]),
    threads: new Set(),
    scanned: false,
  };
}

async function probeFile(path: string): Promise<FileProbe> {
  const pids = new Set<string>();
  const threads = new Set<string>();
  let minTs = Infinity;
  let events = 0;
  let skipped = 0;
  // Strings only for threads met for the first time.
  const seenThreads = new SeenThreads();
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
        if (seenThreads.isNew(bytes, spans, k)) {
          const pid = canonicalJson(bytes, pidStart, spans[k + SPAN_PID_END]);
          pids.add(pid);
          if (tidStart >= 0) {
            threads.add(`${pid} ${canonicalJson(bytes, tidStart, spans[k + SPAN_TID_END])}`);
          }
        }
      }
      const tsStart = spans[k + SPAN_TS];
      if ((spans[k + SPAN_PHASE] & PHASE_BYTE) !== PHASE_M && tsStart >= 0) {
        const ts = parseNumber(bytes, tsStart, spans[k + SPAN_TS_END]);
        if (ts < minTs) minTs = ts;
      }
    }
  });
  for await (const _ of scan.chunks()) { /* the sink does the work */ }
  return { path, info: scan.finish({ events, skipped }), minTs, pids, threads, scanned: true };
}

/**
 * Opens the files lazily and returns the merged stream; nothing is read into memory whole. An
 * input is a file path, or a file already probed (a raw file, see lib/combine/raw_source.ts).
 */
export async function combineFiles(
  inputs: (string | FileProbe)[],
  options: CombineOptions = {},
): Promise<CombinedTraceText> {
  const warnings: TraceWarning[] = [...(options.warnings ?? [])];
  const probes: FileProbe[] = [];
  for (const input of inputs) {
    const path = typeof input === "string" ? input : input.path;
    const probe = typeof input === "string"
      ? await probeByMetadata(path) ?? await probeFile(path)
      : input;
    const damage = probe.info.damage;
    if (damage !== undefined) {
      if (options.strict) throw strictError(path, damage);
      warnings.push({ source: path, message: damage });
    }
    probes.push(probe);
  }
  const usable = probes.filter((probe) => probe.info.events > 0);
  if (usable.length === 0) {
    const reasons = probes.map((probe) =>
      `${probe.path}: ${probe.info.damage ?? "no trace events in it"}`
    );
    throw new TracerError(
      `no events could be read from the ${inputs.length} input files: ${reasons.join("; ")}`,
    );
  }
  const plans = planFiles(usable, options.align ?? false);
  const metadata = mergeMetadata(usable, plans);
  if (warnings.length > 0) metadata.warnings = warnings;

  const processes = new Set<string>();
  const threads = new Set<string>();
  usable.forEach((probe, index) => {
    const pidMap = plans[index].pidMap;
    for (const pid of probe.pids) processes.add(String(pidMap.get(pid) ?? pid));
    for (const thread of probe.threads) {
      const space = thread.indexOf(" ");
      const pid = thread.slice(0, space);
      threads.add(`${pidMap.get(pid) ?? pid} ${thread.slice(space + 1)}`);
    }
  });
  const stats: CombineStats = {
    files: inputs.length,
    processes: processes.size,
    threads: threads.size,
    events: 0,
    droppedEvents: droppedEvents(usable),
    salvagedFiles: probes.filter((probe) => probe.info.truncated || salvagedByRun(probe)).length,
  };
  const tally = new Tally({ stats, warnings, metadata, threads, strict: options.strict ?? false });
  let consumed = false;
  const claim = () => {
    if (consumed) throw new Error("a combined trace can be consumed only once");
    consumed = true;
  };
  return {
    metadata,
    warnings,
    stats,
    events: {
      [Symbol.asyncIterator]() {
        claim();
        return flatten(eventBatches(plans, tally))[Symbol.asyncIterator]();
      },
    },
    eventText() {
      claim();
      return rawEventChunks(plans, tally);
    },
  };
}

/** A per-process file the run stage completed after its process died (`truncated_bytes`). */
function salvagedByRun(probe: FileProbe): boolean {
  const end = probe.info.metadata.tracerEnd as { truncated_bytes?: unknown } | undefined;
  return typeof end?.truncated_bytes === "number" && end.truncated_bytes > 0;
}

async function* eventBatches(plans: FilePlan[], tally: Tally): AsyncGenerator<TraceEvent[]> {
  const stats = tally.stats;
  for (const plan of plans) {
    if (plan.labels.length > 0) {
      stats.events += plan.labels.length;
      yield plan.labels;
    }
    if (plan.raw !== undefined) {
      for await (const batch of rawPlanEvents(plan)) {
        stats.events += batch.length;
        yield batch;
      }
      continue;
    }
    const parser = new EventParser();
    let batch: TraceEvent[] = [];
    let lastPid: unknown = undefined;
    let lastTid: unknown = undefined;
    const scan = new FileScan(plan.path, (bytes, spans) => parser.parse(bytes, spans, batch));
    for await (const _ of scan.chunks()) {
      if (batch.length === 0) continue;
      for (const event of batch) {
        placeEvent(event, plan);
        if (!plan.scanned && (event.pid !== lastPid || event.tid !== lastTid)) {
          lastPid = event.pid;
          lastTid = event.tid;
          if (event.pid !== undefined && event.tid !== undefined) {
            tally.thread(JSON.stringify(event.pid), JSON.stringify(event.tid));
          }
        }
      }
      stats.events += batch.length;
      yield batch;
      batch = [];
    }
    tally.endFile(plan, scan.finish(parser));
  }
}

function flatten<T>(batches: AsyncIterable<T[]>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const source = batches[Symbol.asyncIterator]();
      let current: T[] = [];
      let index = 0;
      return {
        async next(): Promise<IteratorResult<T>> {
          while (index >= current.length) {
            const step = await source.next();
            if (step.done) return { done: true, value: undefined };
            current = step.value;
            index = 0;
          }
          return { done: false, value: current[index++] };
        },
        async return(): Promise<IteratorResult<T>> {
          await source.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

function droppedEvents(probes: FileProbe[]): number {
  let dropped = 0;
  for (const probe of probes) {
    for (const source of sourcesOf(probe)) {
      const end = source.tracerEnd as { dropped_events?: unknown } | undefined;
      if (typeof end?.dropped_events === "number") dropped += end.dropped_events;
    }
  }
  return dropped;
}

/** The per-source records of a file: its own top-level metadata, or those an earlier combine kept. */
function sourcesOf(probe: FileProbe): Record<string, unknown>[] {
  const other = probe.info.metadata.otherData as Record<string, unknown> | undefined;
  if (other?.tracer_combine === 1 && Array.isArray(other.sources)) {
    return other.sources as Record<string, unknown>[];
  }
  const { file_info: _fileInfo, ...rest } = probe.info.metadata;
  return [{ file: probe.path, ...rest }];
}

/**
 * The output's `otherData`: `tracer_combine` (format version), `sources` (one record per original
 * file: `file`, its top-level metadata such as tracer's `otherData`/`tracerEnd` or VizTracer's
 * `viztracer_metadata`, and `pid_map` when pids were remapped), `file_info` (VizTracer's source
 * map, merged) and `warnings`. Combining a combined file carries its sources over unchanged.
 */
function mergeMetadata(probes: FileProbe[], plans: FilePlan[]): Record<string, unknown> {
  const sources: Record<string, unknown>[] = [];
  const files: Record<string, unknown> = {};
  const functions: Record<string, unknown> = {};
  let hasFileInfo = false;
  probes.forEach((probe, index) => {
    const pidMap = plans[index].pidMap;
    for (const source of sourcesOf(probe)) {
      sources.push(
        pidMap.size === 0 ? source : { ...source, pid_map: Object.fromEntries(pidMap) },
      );
    }
    const other = probe.info.metadata.otherData as Record<string, unknown> | undefined;
    const info = (other?.tracer_combine === 1 ? other.file_info : probe.info.metadata.file_info) as
      | { files?: Record<string, unknown>; functions?: Record<string, unknown> }
      | undefined;
    if (info && typeof info === "object") {
      hasFileInfo = true;
      Object.assign(files, info.files ?? {});
      Object.assign(functions, info.functions ?? {});
    }
  });
  const metadata: Record<string, unknown> = { tracer_combine: 1, sources };
  if (hasFileInfo) metadata.file_info = { files, functions };
  return metadata;
}
