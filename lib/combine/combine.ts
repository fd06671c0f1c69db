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
import { shortened, TracerError } from "../errors.ts";
import type { CombinedTrace, CombineStats, TraceEvent, TraceWarning } from "../trace_event.ts";
import { isCombined, type JsonObject, readEnd } from "../trace_metadata.ts";
import { EventText } from "./_event_text.ts";
import { jsonFileSource } from "./_json_source.ts";
import { type FilePlan, type FileProbe, planFiles } from "./_plan.ts";
import type { CombineSource } from "./source.ts";
import { strictError, Tally } from "./_tally.ts";
import { MetadataBudget, SOURCES_BUDGET } from "./_metadata_budget.ts";
import { type IdMap, IdSet, idText, ThreadSet } from "./_ids.ts";
import { type Turns, turnsFor } from "../turns.ts";

export { expandInputs } from "./_inputs.ts";
export type { CombineSource } from "./source.ts";

/** How to combine. */
export interface CombineOptions {
  /** --align_combine: shift each file so its first event starts at 0. */
  align?: boolean;
  /** --strict: any damage is fatal (TracerError). */
  strict?: boolean;
  /** Extra warnings from the run stage, carried into the output and the report. */
  warnings?: TraceWarning[];
  /** Ends every pass over a JSON input at its next chunk (a signal): the pass throws its reason. */
  stop?: AbortSignal;
}

/** A combined trace that can also hand its events over as JSON text, skipping parse/stringify. */
export interface CombinedTraceText extends CombinedTrace {
  /**
   * The events as UTF-8 JSON text, one per line, separated by `,\n`; use this or `events`.
   * A chunk is only valid until the next one is requested.
   */
  eventText(): AsyncIterable<Uint8Array>;
}

/**
 * Opens the files lazily and returns the merged stream; nothing is read into memory whole. An
 * input is a JSON trace file's path or any other {@linkcode CombineSource} (a raw file, see
 * lib/combine/raw_source.ts).
 */
export async function combineFiles(
  inputs: readonly (string | CombineSource)[],
  options: CombineOptions = {},
): Promise<CombinedTraceText> {
  const sources = inputs.map((input) =>
    typeof input === "string" ? jsonFileSource(input, options.stop) : input
  );
  const warnings: TraceWarning[] = [...(options.warnings ?? [])];
  const probes = await probeAll(sources, options.strict ?? false, warnings);
  const usable = probes.filter((probe) => probe.info.events > 0);
  if (usable.length === 0) {
    // The first few reasons, each shortened: one readable line whatever the number of inputs.
    const reasons = probes.slice(0, REASONS_SHOWN).map((probe) =>
      `${shortened(probe.path)}: ${shortened(probe.info.damage ?? "no trace events in it", 160)}`
    );
    if (probes.length > REASONS_SHOWN) reasons.push(`${probes.length - REASONS_SHOWN} more`);
    throw new TracerError(
      `no events could be read from the ${inputs.length} input files: ${reasons.join("; ")}`,
    );
  }
  const usableSources = sources.filter((_, index) => probes[index].info.events > 0);
  const turns = turnsFor(options.stop);
  const plans = await planFiles(usable, options.align ?? false, turns);
  const metadata = mergeMetadata(usable, plans);
  warnings.unshift(...carriedWarnings(usable));
  if (warnings.length > 0) metadata.warnings = warnings;
  const { processes, threads } = await processesAndThreads(usable, plans, turns);
  const stats: CombineStats = {
    files: inputs.length,
    processes: processes.size,
    threads: threads.size,
    events: 0,
    droppedEvents: droppedEvents(usable),
    salvagedFiles: probes.filter((probe) => probe.info.truncated || salvagedByRun(probe)).length,
  };
  const tally = new Tally({
    stats,
    warnings,
    metadata,
    processes,
    threads,
    strict: options.strict ?? false,
  });
  return consumableOnce({ metadata, warnings, stats }, usableSources, plans, tally, turns);
}

/** How many inputs the error of a combine with no events names (and how many more there were). */
const REASONS_SHOWN = 3;

/** The first pass over every input; damage is a warning, or fatal with `strict`. */
async function probeAll(
  sources: CombineSource[],
  strict: boolean,
  warnings: TraceWarning[],
): Promise<FileProbe[]> {
  const probes: FileProbe[] = [];
  const budget = new MetadataBudget();
  for (const source of sources) {
    const probe = await source.probe();
    for (const message of problemsOf(probe)) {
      if (strict) throw strictError(source.path, message);
      warnings.push({ source: source.path, message });
    }
    probe.info.metadata = budget.fit(probe.info.metadata);
    probes.push(probe);
  }
  if (budget.cut > 0) {
    const cut = budget.cut;
    warnings.push({
      message: `the metadata of ${cut} input${cut === 1 ? "" : "s"} was cut (long strings left ` +
        `out) to keep the output's metadata under ${SOURCES_BUDGET >> 20} MiB`,
    });
  }
  return probes;
}

/** What the first pass found wrong with a file: its damage, its absurd timestamps. */
function problemsOf(probe: FileProbe): string[] {
  const problems = probe.info.damage === undefined ? [] : [probe.info.damage];
  if (probe.absurdTs !== undefined) {
    const { count, first } = probe.absurdTs;
    problems.push(
      count === 1
        ? `1 event has an absurd ts (${first}); it does not place the file on the timeline`
        : `${count} events have an absurd ts (the first: ${first}); they do not place the file ` +
          `on the timeline`,
    );
  }
  return problems;
}

/**
 * The processes and threads the first pass saw, after pid remapping: a single file's own sets when
 * its pids stay (no copy of millions of ids), else their union.
 */
async function processesAndThreads(
  probes: FileProbe[],
  plans: FilePlan[],
  turns: Turns,
): Promise<{ processes: IdSet; threads: ThreadSet }> {
  if (probes.length === 1 && plans[0].pidMap.size === 0) {
    return { processes: probes[0].pids, threads: probes[0].threads };
  }
  const processes = new IdSet();
  const threads = new ThreadSet();
  for (const [index, probe] of probes.entries()) {
    const pidMap = plans[index].pidMap;
    for (const pid of probe.pids) {
      processes.add(pidMap.get(pid) ?? pid);
      if (turns.due()) await turns.take();
    }
    for (const [pid, tid] of probe.threads) {
      threads.add(pidMap.get(pid) ?? pid, tid);
      if (turns.due()) await turns.take();
    }
  }
  return { processes, threads };
}

/** The trace, whose events can be read once: as objects or as JSON text. */
function consumableOnce(
  parts: Pick<CombinedTrace, "metadata" | "warnings" | "stats">,
  sources: CombineSource[],
  plans: FilePlan[],
  tally: Tally,
  turns: Turns,
): CombinedTraceText {
  let consumed = false;
  const claim = () => {
    if (consumed) throw new Error("a combined trace can be consumed only once");
    consumed = true;
  };
  return {
    ...parts,
    events: {
      [Symbol.asyncIterator]() {
        claim();
        return eventBatches(sources, plans, tally, turns)[Symbol.asyncIterator]();
      },
    },
    eventText() {
      claim();
      return textChunks(sources, plans, tally, turns);
    },
  };
}

/** A per-process file the run stage completed after its process died (`truncated_bytes`). */
function salvagedByRun(probe: FileProbe): boolean {
  return (probe.end?.truncatedBytes ?? 0) > 0;
}

async function* eventBatches(
  sources: CombineSource[],
  plans: FilePlan[],
  tally: Tally,
  turns: Turns,
): AsyncGenerator<TraceEvent[]> {
  for (const [index, plan] of plans.entries()) {
    let batch: TraceEvent[] = [];
    for (const label of plan.labels.events()) {
      batch.push(label);
      if (batch.length < LABEL_BATCH) continue;
      tally.stats.events += batch.length;
      yield batch;
      batch = [];
      await turns.chunk();
    }
    if (batch.length > 0) {
      tally.stats.events += batch.length;
      yield batch;
    }
    yield* sources[index].events(plan, tally);
  }
}

/** `process_labels` events handed on at once. */
const LABEL_BATCH = 8192;

/** Output handed on in chunks of about this size. */
const CHUNK_BYTES = 1 << 16;

/**
 * The events of every planned file as JSON text: one event per line, separated by `,\n`.
 * A chunk is only valid until the next one is requested (its buffer is reused).
 */
async function* textChunks(
  sources: CombineSource[],
  plans: FilePlan[],
  tally: Tally,
  turns: Turns,
): AsyncGenerator<Uint8Array> {
  const text = new EventText();
  for (const [index, plan] of plans.entries()) {
    for (const label of plan.labels.events()) {
      text.appendObject(label);
      tally.stats.events++;
      if (text.out.length < CHUNK_BYTES) continue;
      yield text.out.take();
      await turns.chunk();
    }
    for await (const _ of sources[index].text(plan, text, tally)) {
      if (text.out.length >= CHUNK_BYTES) yield text.out.take();
    }
  }
  if (text.out.length > 0) yield text.out.take();
}

function droppedEvents(probes: FileProbe[]): number {
  let dropped = 0;
  for (const probe of probes) {
    for (const source of sourcesOf(probe)) dropped += readEnd(source.tracerEnd)?.droppedEvents ?? 0;
  }
  return dropped;
}

/** The per-source records of a file: its own top-level metadata, or those an earlier combine kept. */
function sourcesOf(probe: FileProbe): JsonObject[] {
  const other = probe.info.metadata.otherData;
  if (isCombined(other) && Array.isArray(other.sources)) return other.sources;
  const { file_info: _fileInfo, ...rest } = probe.info.metadata;
  return [{ file: probe.path, ...rest }];
}

/**
 * The warnings earlier combines recorded in their output (`otherData.warnings`: a run's lost
 * events, damaged files), so a trace turned into a report later still shows them.
 */
function carriedWarnings(probes: FileProbe[]): TraceWarning[] {
  const carried: TraceWarning[] = [];
  for (const probe of probes) {
    const other = probe.info.metadata.otherData;
    if (!isCombined(other) || !Array.isArray(other.warnings)) continue;
    for (const warning of other.warnings) {
      if (typeof warning !== "object" || warning === null) continue;
      const { source, message } = warning as Record<string, unknown>;
      if (typeof message !== "string") continue;
      carried.push(typeof source === "string" ? { source, message } : { message });
    }
  }
  return carried;
}

/**
 * The output's `otherData`: `tracer_combine` (format version), `sources` (one record per original
 * file: `file`, its top-level metadata such as tracer's `otherData`/`tracerEnd` or VizTracer's
 * `viztracer_metadata`, and `pid_map` when pids were remapped, its first PID_MAP_KEPT entries with
 * `pid_map_left_out` past them; cut to a budget as probed, see
 * _metadata_budget.ts), `file_info` (VizTracer's source map, merged) and `warnings`. Combining a
 * combined file carries its sources over unchanged.
 */
function mergeMetadata(probes: FileProbe[], plans: FilePlan[]): Record<string, unknown> {
  const records: Record<string, unknown>[] = [];
  const files: Record<string, unknown> = {};
  const functions: Record<string, unknown> = {};
  let hasFileInfo = false;
  probes.forEach((probe, index) => {
    const pidMap = plans[index].pidMap;
    for (const source of sourcesOf(probe)) {
      records.push(
        pidMap.size === 0 ? source : { ...source, ...pidMapRecord(pidMap) },
      );
    }
    const other = probe.info.metadata.otherData;
    const info = (isCombined(other) ? other.file_info : probe.info.metadata.file_info) as
      | { files?: Record<string, unknown>; functions?: Record<string, unknown> }
      | undefined;
    if (info && typeof info === "object") {
      hasFileInfo = true;
      Object.assign(files, info.files ?? {});
      Object.assign(functions, info.functions ?? {});
    }
  });
  const metadata: Record<string, unknown> = { tracer_combine: 1, sources: records };
  if (hasFileInfo) metadata.file_info = { files, functions };
  return metadata;
}

/**
 * The most `pid_map` entries a source record keeps. Past that, the `process_labels` events still
 * name each moved pid, and a file of a million colliding pids no longer makes a map of a million
 * keys (tens of MB of metadata, hundreds in memory).
 */
export const PID_MAP_KEPT = 1000;

/**
 * A file's `pid_map` as its source record keeps it (original pid, its JSON text -> new pid), with
 * `pid_map_left_out` (how many more there were) when it holds more than PID_MAP_KEPT.
 */
function pidMapRecord(
  pidMap: IdMap,
): { pid_map: Record<string, number>; pid_map_left_out?: number } {
  const kept: Record<string, number> = {};
  let count = 0;
  for (const [pid, moved] of pidMap.entries()) {
    if (count++ === PID_MAP_KEPT) break;
    kept[idText(pid)] = moved;
  }
  return pidMap.size <= PID_MAP_KEPT
    ? { pid_map: kept }
    : { pid_map: kept, pid_map_left_out: pidMap.size - PID_MAP_KEPT };
}
