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
 * are copied as bytes with only `ts` and `pid` rewritten.
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { TracerError, UsageError } from "./errors.ts";
import {
  canonicalJson,
  EventParser,
  FileScan,
  hashThread,
  parseNumber,
  PHASE_BYTE,
  readTracerFileEnds,
  SPAN_PHASE,
  SPAN_PID,
  SPAN_PID_END,
  SPAN_STRIDE,
  SPAN_TID,
  SPAN_TID_END,
  SPAN_TS,
  SPAN_TS_END,
} from "./event_reader.ts";
import type { TraceFileInfo } from "./event_reader.ts";
import type { CombinedTrace, CombineStats, TraceEvent, TraceWarning } from "./trace_event.ts";
import { rawEventChunks } from "./combine_raw.ts";

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

/** How one input file's events are moved onto the common timeline. */
export interface FilePlan {
  /** The input file. */
  path: string;
  /** Added to every non-metadata `ts`. */
  shift: number;
  /** Original pid (as its JSON text) -> new pid, for pids that collided with another file's. */
  pidMap: Map<string, number>;
  /** `process_labels` events announcing the remapped pids. */
  labels: TraceEvent[];
  /** True when a first pass read the file (its damage and threads are known). */
  scanned: boolean;
}

const PHASE_M = 0x4d;

/** Largest pid Linux hands out; remapped pids start above it. */
const PID_MAX = 4_194_304;

/** Expands directories (their *.json / *.json.gz files) and globs the shell did not expand; throws UsageError naming a missing input. */
export async function expandInputs(args: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const arg of args) {
    const stat = await Deno.stat(arg).catch(() => null);
    if (stat?.isDirectory) {
      const names = await listDir(arg, "");
      const traces = names.filter(isTraceFileName);
      if (traces.length === 0) {
        throw new UsageError(`directory ${arg} holds no .json or .json.gz files; name the files`);
      }
      found.push(...traces.map((name) => join(arg, name)));
    } else if (stat !== null) {
      found.push(arg);
    } else if (/[*?]/.test(basename(arg))) {
      const dir = arg.slice(0, arg.length - basename(arg).length) || ".";
      const pattern = globPattern(basename(arg));
      const names = (await listDir(dir, arg)).filter((name) => pattern.test(name));
      if (names.length === 0) throw new UsageError(`no file matches ${arg}; check the pattern`);
      found.push(...names.map((name) => join(dir, name)));
    } else {
      throw new UsageError(`input file ${arg} does not exist; check the path`);
    }
  }
  const seen = new Set<string>();
  const unique: string[] = [];
  for (const path of found) {
    const real = await Deno.realPath(path).catch(() => resolve(path));
    if (seen.has(real)) continue;
    seen.add(real);
    unique.push(path);
  }
  return unique;
}

function isTraceFileName(name: string): boolean {
  return (name.endsWith(".json") || name.endsWith(".json.gz")) && !name.startsWith(".");
}

function globPattern(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(
    /\?/g,
    "[^/]",
  );
  return new RegExp(`^${body}$`);
}

async function listDir(dir: string, forArg: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile || entry.isSymlink) names.push(entry.name);
    }
  } catch (error) {
    const what = forArg === "" ? `directory ${dir}` : `${forArg}: directory ${dir}`;
    throw new UsageError(`cannot list ${what} (${(error as Error).message}); check the path`, {
      cause: error,
    });
  }
  return names.sort(fileOrder);
}

/** `result_9.json` < `result_10.json` < `result_10_1.json` (an exec successor after its parent). */
function fileOrder(a: string, b: string): number {
  const stem = (name: string) => name.replace(/\.json(\.gz)?$/, "");
  return stem(a).localeCompare(stem(b), "en", { numeric: true }) || (a < b ? -1 : a > b ? 1 : 0);
}

/** What the first pass learnt about one file. */
interface FileProbe {
  path: string;
  info: TraceFileInfo;
  /** Earliest `ts` of a non-metadata event, Infinity if none. */
  minTs: number;
  /** Pids used by the events, as their JSON text. */
  pids: Set<string>;
  /** `pid` JSON text + " " + `tid` JSON text. */
  threads: Set<string>;
  /** False for a tracer file placed by its end metadata alone: threads and damage come later. */
  scanned: boolean;
}

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
  // Threads seen, by a hash of their "pid":..,"tid":.. bytes: strings only for new ones.
  const seenThreads = new Set<number>();
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
        const hash = hashThread(bytes, spans, k);
        if (!seenThreads.has(hash)) {
          seenThreads.add(hash);
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

/** Opens the files lazily and returns the merged stream; nothing is read into memory whole. */
export async function combineFiles(
  paths: string[],
  options: CombineOptions = {},
): Promise<CombinedTraceText> {
  const warnings: TraceWarning[] = [...(options.warnings ?? [])];
  const probes: FileProbe[] = [];
  for (const path of paths) {
    const probe = await probeByMetadata(path) ?? await probeFile(path);
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
      `no events could be read from the ${paths.length} input files: ${reasons.join("; ")}`,
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
    files: paths.length,
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

function strictError(path: string, damage: string): TracerError {
  return new TracerError(`${path}: ${damage} (--strict refuses damaged input)`);
}

/** Counts and warnings the second pass adds for files placed without a first pass. */
export class Tally {
  /** Final once the second pass is done. */
  readonly stats: CombineStats;
  #warnings: TraceWarning[];
  #metadata: Record<string, unknown>;
  #threads: Set<string>;
  #strict: boolean;

  /** Continues the counts of the first pass. */
  constructor(
    state: {
      stats: CombineStats;
      warnings: TraceWarning[];
      metadata: Record<string, unknown>;
      threads: Set<string>;
      strict: boolean;
    },
  ) {
    this.stats = state.stats;
    this.#warnings = state.warnings;
    this.#metadata = state.metadata;
    this.#threads = state.threads;
    this.#strict = state.strict;
  }

  /** Records a thread (pid and tid as JSON text, the pid already remapped). */
  thread(pid: string, tid: string): void {
    this.#threads.add(`${pid} ${tid}`);
    this.stats.threads = this.#threads.size;
  }

  /** After a file's second pass: reports damage the first pass did not look for. */
  endFile(plan: FilePlan, info: TraceFileInfo): void {
    if (plan.scanned || info.damage === undefined) return;
    if (this.#strict) throw strictError(plan.path, info.damage);
    this.#warnings.push({ source: plan.path, message: info.damage });
    this.#metadata.warnings = this.#warnings;
    if (info.truncated) this.stats.salvagedFiles++;
  }
}

/** Moves one parsed event onto the timeline of its plan. */
export function placeEvent(event: TraceEvent, plan: FilePlan): void {
  if (event.ph !== "M" && typeof event.ts === "number" && plan.shift !== 0) {
    event.ts = roundTs(event.ts + plan.shift);
  }
  if (plan.pidMap.size > 0 && event.pid !== undefined) {
    const mapped = plan.pidMap.get(JSON.stringify(event.pid));
    if (mapped !== undefined) event.pid = mapped;
  }
}

/** Rounds a timestamp to the nanosecond, so shifted values print short. */
export function roundTs(ts: number): number {
  return Math.round(ts * 1000) / 1000;
}

async function* eventBatches(plans: FilePlan[], tally: Tally): AsyncGenerator<TraceEvent[]> {
  const stats = tally.stats;
  for (const plan of plans) {
    if (plan.labels.length > 0) {
      stats.events += plan.labels.length;
      yield plan.labels;
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

interface ClockInfo {
  host: string;
  boot: string;
  /** Wall clock minus monotonic clock, in microseconds. */
  wallOffset: number;
}

function clockOf(probe: FileProbe): ClockInfo | undefined {
  const other = probe.info.metadata.otherData as Record<string, unknown> | undefined;
  const clock = other?.clock as { epoch_ns?: unknown; mono_ns?: unknown } | undefined;
  if (typeof clock?.epoch_ns !== "number" || typeof clock.mono_ns !== "number") return undefined;
  return {
    host: String(other?.host ?? ""),
    boot: String(other?.boot_id ?? ""),
    wallOffset: (clock.epoch_ns - clock.mono_ns) / 1000,
  };
}

/** Decides each file's shift and pid remapping (see the module comment for the rule). */
function planFiles(probes: FileProbe[], align: boolean): FilePlan[] {
  const offsets = probes.map(() => 0);
  if (align) {
    probes.forEach((probe, index) => offsets[index] = -probe.minTs);
  } else {
    const groups = new Map<string, number>();
    const clocks = probes.map(clockOf);
    for (const clock of clocks) {
      const key = clock && `${clock.host}\n${clock.boot}`;
      if (clock && key !== undefined && !groups.has(key)) groups.set(key, clock.wallOffset);
    }
    if (groups.size > 1) {
      const base = Math.min(...groups.values());
      clocks.forEach((clock, index) => {
        if (clock) offsets[index] = groups.get(`${clock.host}\n${clock.boot}`)! - base;
      });
    }
  }
  let origin = Infinity;
  probes.forEach((probe, index) => origin = Math.min(origin, probe.minTs + offsets[index]));
  if (!Number.isFinite(origin)) origin = 0;
  const pidMaps = remapPids(probes);
  const labelled = new Set<number>();
  return probes.map((probe, index) => {
    const pidMap = pidMaps[index];
    const labels: TraceEvent[] = [];
    for (const [original, pid] of pidMap) {
      if (labelled.has(pid)) continue;
      labelled.add(pid);
      labels.push({
        ph: "M",
        pid,
        name: "process_labels",
        args: { labels: `pid ${JSON.parse(original)} from ${sourceLabel(probe)}` },
      });
    }
    return {
      path: probe.path,
      shift: offsets[index] - origin,
      pidMap,
      labels,
      scanned: probe.scanned,
    };
  });
}

function sourceLabel(probe: FileProbe): string {
  const other = probe.info.metadata.otherData as Record<string, unknown> | undefined;
  const host = typeof other?.host === "string" && other.host !== "" ? ` on ${other.host}` : "";
  return `${basename(probe.path)}${host}`;
}

function remapPids(probes: FileProbe[]): Map<string, number>[] {
  let next = PID_MAX;
  for (const probe of probes) {
    for (const pid of probe.pids) {
      const value = Number(pid);
      if (Number.isInteger(value) && value > next) next = value;
    }
  }
  const processes = processKeys(probes);
  /** pid text -> the process (key) that claimed it first. */
  const owners = new Map<string, string>();
  /** process key -> its new pid, shared by the files of one process (exec successors). */
  const moved = new Map<string, number>();
  return probes.map((probe, index) => {
    const pidMap = new Map<string, number>();
    for (const pid of probe.pids) {
      const key = `${processes[index]}\n${pid}`;
      const owner = owners.get(pid);
      if (owner === undefined) {
        owners.set(pid, key);
      } else if (owner !== key) {
        if (!moved.has(key)) moved.set(key, ++next);
        pidMap.set(pid, moved.get(key)!);
      }
    }
    return pidMap;
  });
}

/**
 * Which process each file belongs to: a tracer file whose `exec_of` names another input of the
 * same pid and directory continues that file's process; every other file is its own.
 */
function processKeys(probes: FileProbe[]): string[] {
  const byFile = new Map(probes.map((probe, index) => [resolve(probe.path), index]));
  const execOf = probes.map((probe) => {
    const other = probe.info.metadata.otherData as Record<string, unknown> | undefined;
    if (typeof other?.exec_of !== "string") return -1;
    const earlier = byFile.get(resolve(dirname(probe.path), basename(other.exec_of)));
    if (earlier === undefined) return -1;
    const samePid = [...probes[earlier].pids].some((pid) => probe.pids.has(pid));
    return samePid ? earlier : -1;
  });
  return probes.map((_, index) => {
    let root = index;
    for (let hops = 0; execOf[root] >= 0 && hops < probes.length; hops++) root = execOf[root];
    return resolve(probes[root].path);
  });
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
