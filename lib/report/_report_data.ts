/**
 * Builds the report's compact data from an event stream: slices per (pid, tid) in a SliceStore
 * (typed arrays, spilled to a scratch file past a budget: lib/report/_slices.ts), a string table,
 * metadata, instants, counters and flows; then the slice columns, depth from nesting, in
 * ColumnSinks (lib/report/_columns.ts), and encodes it all as the byte stream described in
 * lib/report_format.ts. The slices and columns take memory that does not grow with their number;
 * names, instants, counters and flows are held whole (they go into the header).
 * @module
 */
import type { CombinedTrace, CombineStats, TraceEvent, TraceWarning } from "../trace_event.ts";
import { readEnd, readStart, sourceRecords } from "../trace_metadata.ts";
import {
  type CounterSeries,
  FLAG_ARGS,
  FLAG_UNFINISHED,
  type FlowBind,
  type FlowKind,
  type FlowRecord,
  type InstantRecord,
  MAGIC,
  type ProcessInfo,
  type ReportHeader,
  type TrackInfo,
  VarintWriter,
} from "../report_format.ts";
import { jsonText } from "../json_text.ts";
import { SLICE_BUDGET, SliceStore } from "./_slices.ts";
import { COLUMN_LIMIT, ColumnSink } from "./_columns.ts";
import { type Turns, turnsFor } from "../turns.ts";

/** Nanoseconds per tick: timestamps are quantized to 10 ns (the shim's own overhead is ~300 ns). */
export const TICK_NS = 10;
const TICKS_PER_US = 1000 / TICK_NS;

interface OpenBegin {
  ticks: number;
  name: number;
  cat: number;
  args: Record<string, unknown> | undefined;
}

/** One (pid, tid) timeline: its facts here, its slices in the builder's SliceStore. */
class TrackData {
  open: OpenBegin[] = [];
  minStart = Infinity;
  maxEnd = -Infinity;
  name_ = "";
  sortIndex = 0;
  maxDepth = 0;

  constructor(
    readonly pid: number | string,
    readonly tid: number | string,
    /** Its index in the SliceStore (and in the header's tracks). */
    readonly index: number,
  ) {}
}

/** Flow kinds of the categories the shim writes. */
const FLOW_KINDS: Record<string, FlowKind> = {
  "tracer.launch": "launch",
  "tracer.task": "task",
  "tracer.result": "result",
};

/** How a flow event binds to a slice (lib/report_format.ts `FlowBind`). */
function flowBind(event: TraceEvent): FlowBind {
  const bind = (event.args as { bind?: unknown } | undefined)?.bind;
  if (bind === "next") return "n";
  if (bind === "main") return "m";
  if (event.ph === "f") return event.bp === "e" ? "e" : "n";
  return "e";
}

/** Each process's parent and launch kind from the launch arrows (the parent's end starts it). */
function applyLaunches(
  processes: Map<string, ProcessInfo>,
  flows: FlowRecord[],
  tracks: TrackData[],
): void {
  for (const flow of flows) {
    if (flow.kind !== "launch") continue;
    const from = tracks[flow.steps[0][0]];
    const to = tracks[flow.steps[flow.steps.length - 1][0]];
    const child = processes.get(String(to.pid));
    if (!child || String(from.pid) === String(to.pid)) continue;
    child.parent = from.pid;
    child.launch = flow.name;
  }
}

/** Microseconds to ticks; NaN unless the result is an exact integer (1e307 us overflows). */
function toTicks(us: unknown): number {
  if (typeof us !== "number") return NaN;
  const ticks = Math.round(us * TICKS_PER_US);
  return Number.isSafeInteger(ticks) ? ticks : NaN;
}

function idKey(value: unknown): string {
  return typeof value === "number" || typeof value === "string" ? String(value) : "";
}

function idValue(value: unknown): number | string {
  return typeof value === "number" || typeof value === "string" ? value : 0;
}

/** The longest name (characters) the report keeps whole; a longer one is cut there, and counted. */
export const NAME_LIMIT = 4096;
/**
 * The characters of all names the report keeps: past it, a new name is replaced by NAMES_FULL, and
 * counted. The names travel in one JSON text, which a JavaScript string must hold (once: a
 * "RangeError: Invalid string length" past ~512 MiB of them).
 */
export const NAMES_BUDGET = 128 << 20;
const NAMES_FULL = "(name left out: the report's names reached their limit)";

/**
 * The most processes, and the most threads, a report holds: each costs memory (about a kilobyte)
 * whatever its events, so a trace of millions of pids would not fit; the events of those past
 * them are left out (the JSON output keeps them), and tracer says how many.
 */
export const REPORT_PROCESSES = 100_000;
export const REPORT_THREADS = 100_000;

/** How much a builder keeps in memory before it uses scratch files (smaller in tests). */
export interface BuilderLimits {
  /** Slices held in memory across all tracks (SliceStore). */
  slices?: number;
  /** Bytes each column holds in memory (ColumnSink). */
  columnBytes?: number;
}

/** Slices written to the columns between two chances for a signal to stop the writer. */
const FINISH_STEP = 1 << 16;

/** The slice columns of lib/report_format.ts, in their order. */
const COLUMNS = ["start", "dur", "depth", "name", "cat", "flags", "args"] as const;

/**
 * Collects events into compact storage; call `add` for each event, then `header`, then `encode`,
 * and `close` in any case (it frees the scratch files).
 */
export class ReportBuilder {
  #slices: SliceStore;
  #columns: Record<(typeof COLUMNS)[number], ColumnSink>;
  #origin = 0;
  #end = 0;

  /** A builder with the given memory limits (the defaults suit any trace). */
  constructor(limits: BuilderLimits = {}) {
    this.#slices = new SliceStore(limits.slices ?? SLICE_BUDGET);
    const columnBytes = limits.columnBytes ?? COLUMN_LIMIT;
    this.#columns = Object.fromEntries(
      COLUMNS.map((column) => [column, new ColumnSink(columnBytes)]),
    ) as Record<(typeof COLUMNS)[number], ColumnSink>;
  }

  /** True when the slices outgrew memory and went through a scratch file. */
  get spilled(): boolean {
    return this.#slices.spilled;
  }

  /** Frees the scratch files; the builder is done. */
  close(): void {
    this.#slices.close();
    for (const column of COLUMNS) this.#columns[column].close();
  }

  #strings: string[] = [];
  #stringIds = new Map<string, number>();
  #stringChars = 0;
  #cutNames = 0;
  #namesLeftOut = 0;
  #tracks = new Map<string, TrackData>();
  #processes = new Map<string, ProcessInfo>();
  #instants: {
    track: TrackData;
    ticks: number;
    name: number;
    scope: string;
    cat: number;
    args: number;
  }[] = [];
  #counters = new Map<string, CounterSeries>();
  #flows = new Map<
    string,
    { name: string; cat: string; steps: { track: TrackData; ticks: number; bind: FlowBind }[] }
  >();
  #skipped: Record<string, number> = {};
  /** Events of processes or threads past REPORT_PROCESSES / REPORT_THREADS. */
  #pastLimits = 0;
  #events = 0;
  #finished: TrackData[] | undefined;

  /** Number of events taken in (slices, instants, counters, flows, metadata). */
  get events(): number {
    return this.#events;
  }

  #string(value: string): number {
    let kept = value;
    if (kept.length > NAME_LIMIT) kept = kept.slice(0, NAME_LIMIT) + "\u2026";
    let id = this.#stringIds.get(kept);
    if (id !== undefined) return id;
    if (kept !== value) this.#cutNames++;
    if (this.#stringChars + kept.length > NAMES_BUDGET && kept !== NAMES_FULL) {
      this.#namesLeftOut++;
      return this.#string(NAMES_FULL);
    }
    id = this.#strings.length;
    // A name parsed from JSON can be a slice of the whole decoded chunk it came in, which it would
    // keep alive: 2,500 names held 250 MB of chunks in an 8 M-event report. Keep a copy.
    kept = ownCopy(kept);
    this.#strings.push(kept);
    this.#stringIds.set(kept, id);
    this.#stringChars += kept.length;
    return id;
  }

  /** The process of `pid`, undefined when it would be one past REPORT_PROCESSES. */
  #process(pid: unknown): ProcessInfo | undefined {
    const key = idKey(pid);
    let process = this.#processes.get(key);
    if (!process) {
      if (this.#processes.size >= REPORT_PROCESSES) return undefined;
      process = { pid: idValue(pid), name: "", labels: "", sortIndex: 0, droppedEvents: 0 };
      this.#processes.set(key, process);
    }
    return process;
  }

  #lastTrack: TrackData | undefined;

  /** The track of a thread, undefined when it (or its process) would be past the limits. */
  #track(pid: unknown, tid: unknown): TrackData | undefined {
    // Consecutive events mostly come from one thread: skip building the map key for them.
    const last = this.#lastTrack;
    if (last && last.pid === pid && last.tid === tid) return last;
    const key = `${idKey(pid)}\u0000${idKey(tid)}`;
    let track = this.#tracks.get(key);
    if (!track) {
      if (this.#tracks.size >= REPORT_THREADS || this.#process(pid) === undefined) {
        return undefined;
      }
      track = new TrackData(idValue(pid), idValue(tid), this.#slices.addTrack());
      this.#tracks.set(key, track);
    }
    this.#lastTrack = track;
    return track;
  }

  #skip(ph: string) {
    this.#skipped[ph] = (this.#skipped[ph] ?? 0) + 1;
  }

  /** The string id of the JSON text of `args`, -1 when there are none (not an object, or empty). */
  #argsText(args: unknown): number {
    if (!args || typeof args !== "object" || Object.keys(args).length === 0) return -1;
    return this.#string(jsonText(args));
  }

  #slice(track: TrackData, ticks: number, dur: number, name: number, cat: number, args: unknown) {
    let flags = 0;
    const argsId = this.#argsText(args);
    if (argsId >= 0) {
      flags |= FLAG_ARGS;
      if ((args as { unfinished?: unknown }).unfinished === true) flags |= FLAG_UNFINISHED;
    }
    const length = Math.max(0, dur);
    if (ticks < track.minStart) track.minStart = ticks;
    if (ticks + length > track.maxEnd) track.maxEnd = ticks + length;
    this.#slices.push(track.index, ticks, length, name, cat, Math.max(0, argsId), flags);
  }

  /** Takes one event in. */
  add(event: TraceEvent): void {
    this.#events++;
    const ph = event.ph;
    if (ph === "X" || ph === "B" || ph === "E") {
      const ticks = toTicks(event.ts);
      if (Number.isNaN(ticks)) return this.#skip(ph);
      const track = this.#track(event.pid, event.tid);
      if (!track) return void this.#pastLimits++;
      const name = this.#string(String(event.name ?? ""));
      const cat = event.cat === undefined ? 0 : this.#string(String(event.cat)) + 1;
      if (ph === "X") {
        const dur = toTicks(event.ts! + (event.dur ?? 0)) - ticks;
        if (Number.isNaN(dur)) return this.#skip(ph);
        this.#slice(track, ticks, dur, name, cat, event.args);
      } else if (ph === "B") {
        track.open.push({ ticks, name, cat, args: event.args });
      } else {
        const begin = track.open.pop();
        if (!begin) return this.#skip(ph);
        const args = event.args ? { ...begin.args, ...event.args } : begin.args;
        this.#slice(track, begin.ticks, ticks - begin.ticks, begin.name, begin.cat, args);
      }
    } else if (ph === "M") {
      this.#metadata(event);
    } else if (ph === "i" || ph === "I" || ph === "R") {
      const ticks = toTicks(event.ts);
      if (Number.isNaN(ticks)) return this.#skip(ph);
      const scope = event.s === "g" || event.s === "p" ? event.s : "t";
      const track = this.#track(event.pid, event.tid);
      if (!track) return void this.#pastLimits++;
      this.#instants.push({
        track,
        ticks,
        name: this.#string(String(event.name ?? "")),
        scope,
        cat: event.cat === undefined ? 0 : this.#string(String(event.cat)) + 1,
        args: this.#argsText(event.args),
      });
    } else if (ph === "C") {
      this.#counter(event);
    } else if (ph === "s" || ph === "t" || ph === "f") {
      const ticks = toTicks(event.ts);
      if (Number.isNaN(ticks) || event.id === undefined) return this.#skip(ph);
      const track = this.#track(event.pid, event.tid);
      if (!track) return void this.#pastLimits++;
      const cat = String(event.cat ?? "");
      const key = `${cat}\u0000${String(event.id)}`;
      let flow = this.#flows.get(key);
      if (!flow) this.#flows.set(key, flow = { name: String(event.name ?? ""), cat, steps: [] });
      else if (ph === "s") flow.name = String(event.name ?? ""); // the start names a flow
      flow.steps.push({ track, ticks, bind: flowBind(event) });
    } else {
      this.#skip(ph);
    }
  }

  #metadata(event: TraceEvent) {
    const args = event.args ?? {};
    const process = this.#process(event.pid);
    if (!process) return void this.#pastLimits++;
    if (typeof args.dropped_events === "number") process.droppedEvents += args.dropped_events;
    switch (event.name) {
      case "process_name":
        process.name = String(args.name ?? "");
        break;
      case "process_labels":
        process.labels = String(args.labels ?? "");
        break;
      case "process_sort_index":
        process.sortIndex = Number(args.sort_index) || 0;
        break;
      case "thread_name":
      case "thread_sort_index": {
        const track = this.#track(event.pid, event.tid);
        if (!track) this.#pastLimits++;
        else if (event.name === "thread_name") track.name_ = String(args.name ?? "");
        else track.sortIndex = Number(args.sort_index) || 0;
        break;
      }
    }
  }

  #counter(event: TraceEvent) {
    const ticks = toTicks(event.ts);
    const args = event.args ?? {};
    const keys = Object.keys(args).filter((key) => typeof args[key] === "number");
    if (Number.isNaN(ticks) || keys.length === 0) return this.#skip("C");
    const name = String(event.name ?? "");
    for (const key of keys) {
      const seriesKey = `${idKey(event.pid)}\u0000${name}\u0000${key}`;
      let series = this.#counters.get(seriesKey);
      if (!series) {
        if (!this.#process(event.pid)) return void this.#pastLimits++;
        const label = keys.length > 1 || key !== "value" ? `${name} ${key}` : name;
        this.#counters.set(
          seriesKey,
          series = { pid: idValue(event.pid), name: label, points: [] },
        );
      }
      series.points.push(ticks, args[key] as number);
    }
  }

  /**
   * Ends the input: closes open B events as unfinished, finds the time span, then writes every
   * track's slices, in start order with their depth, into the columns. With `turns`, it gives the
   * event loop a turn when one is due, so a signal can stop it (it can take seconds).
   */
  async finish(turns?: Turns): Promise<void> {
    for (const _ of this.#finishing()) await turns?.chunk();
  }

  /** The tracks, finished (at once, without turns, when `finish` was not awaited before). */
  #finish(): TrackData[] {
    if (this.#finished === undefined) { for (const _ of this.#finishing()); }
    return this.#finished!;
  }

  /** The work of `finish`, pausing after each FINISH_STEP slices written. */
  *#finishing(): Generator<void> {
    if (this.#finished) return;
    const tracks = [...this.#tracks.values()];
    for (const track of tracks) {
      while (track.open.length > 0) {
        const begin = track.open.pop()!;
        const end = Math.max(track.maxEnd, begin.ticks);
        this.#slice(track, begin.ticks, end - begin.ticks, begin.name, begin.cat, {
          ...begin.args,
          unfinished: true,
        });
      }
    }
    let origin = Infinity;
    let end = -Infinity;
    const extend = (ticks: number) => {
      if (ticks < origin) origin = ticks;
      if (ticks > end) end = ticks;
    };
    for (const track of tracks) {
      if (this.#slices.count(track.index) === 0) continue;
      extend(track.minStart);
      extend(track.maxEnd);
    }
    for (const instant of this.#instants) extend(instant.ticks);
    for (const series of this.#counters.values()) {
      for (let i = 0; i < series.points.length; i += 2) extend(series.points[i]);
    }
    if (origin === Infinity) origin = end = 0;
    this.#origin = origin;
    this.#end = end;
    for (const track of tracks) yield* this.#writeColumns(track);
    this.#finished = tracks;
  }

  /** Appends one track's slices to the columns, computing each one's depth from nesting. */
  *#writeColumns(track: TrackData): Generator<void> {
    const { start, dur, depth, name, cat, flags, args } = this.#columns;
    const ends: number[] = [];
    let previous = this.#origin;
    let maxDepth = 0;
    const visit = (s: number, d: number, n: number, c: number, a: number, f: number) => {
      while (ends.length > 0 && ends[ends.length - 1] <= s) ends.pop();
      const level = Math.min(ends.length, 0xffff);
      if (level > maxDepth) maxDepth = level;
      ends.push(s + d);
      start.write(s - previous);
      previous = s;
      dur.write(d);
      depth.write(level);
      name.write(n);
      cat.write(c);
      flags.write(f);
      if (f & FLAG_ARGS) args.write(a);
    };
    const merge = this.#slices.merge(track.index);
    while (merge.visit(visit, FINISH_STEP)) yield;
    track.maxDepth = maxDepth;
    yield;
  }

  /** Ends the input: closes open B events as unfinished, sorts, computes depths; the header. */
  header(
    context: { warnings: TraceWarning[]; stats: CombineStats; metadata: Record<string, unknown> },
  ): ReportHeader {
    const tracks = this.#finish();
    if (this.#cutNames > 0) {
      context.warnings.push({
        message: `${this.#cutNames} names longer than ${NAME_LIMIT} characters are cut there in ` +
          `the report (the JSON output keeps them whole)`,
      });
    }
    if (this.#pastLimits > 0) {
      context.warnings.push({
        message:
          `${
            this.#pastLimits.toLocaleString("en-US")
          } events are left out of the report: their processes or ` +
          `threads come after the first ${REPORT_PROCESSES.toLocaleString("en-US")} processes ` +
          `or ${
            REPORT_THREADS.toLocaleString("en-US")
          } threads it holds (the JSON output keeps them)`,
      });
    }
    if (this.#namesLeftOut > 0) {
      context.warnings.push({
        message: `${this.#namesLeftOut} names are left out of the report: its names reached ` +
          `${NAMES_BUDGET >> 20} Mi characters (the JSON output keeps them)`,
      });
    }
    const trackIndex = new Map(tracks.map((track, index) => [track, index]));
    const argv = this.#applySources(context.metadata);
    const trackInfos: TrackInfo[] = tracks.map((track) => ({
      pid: track.pid,
      tid: track.tid,
      name: track.name_,
      sortIndex: track.sortIndex,
      count: this.#slices.count(track.index),
      maxDepth: track.maxDepth,
    }));
    const instants: InstantRecord[] = this.#instants.map((instant) => [
      trackIndex.get(instant.track)!,
      instant.ticks,
      instant.name,
      instant.scope,
      instant.cat,
      instant.args,
    ]);
    const flows: FlowRecord[] = [];
    for (const flow of this.#flows.values()) {
      if (flow.steps.length < 2) continue;
      const steps = flow.steps.sort((a, b) => a.ticks - b.ticks);
      flows.push({
        name: flow.name,
        steps: steps.map((step) => [trackIndex.get(step.track)!, step.ticks]),
        kind: FLOW_KINDS[flow.cat] ?? "flow",
        binds: steps.map((step) => step.bind),
      });
    }
    applyLaunches(this.#processes, flows, tracks);
    return {
      version: 1,
      tickNs: TICK_NS,
      origin: this.#origin,
      end: this.#end,
      strings: this.#strings,
      processes: [...this.#processes.values()],
      tracks: trackInfos,
      instants,
      counters: [...this.#counters.values()],
      flows,
      warnings: context.warnings,
      stats: context.stats,
      skipped: this.#skipped,
      metadata: argv ? { argv } : {},
    };
  }

  /**
   * Per-process facts from combine's `metadata.sources` (each file's `otherData`, `tracerEnd`
   * and `pid_map`): dropped events and abnormal endings. Returns the first process's argv.
   */
  #applySources(metadata: Record<string, unknown>): string[] | undefined {
    let argv: string[] | undefined;
    const hosts = new Map<ProcessInfo, string>();
    for (const source of sourceRecords(metadata)) {
      const start = readStart(source.otherData);
      if (start.pid === undefined) continue;
      if (!argv && start.argv) argv = start.argv.map(String);
      const pid = source.pid_map?.[JSON.stringify(start.pid)] ?? start.pid;
      const process = this.#processes.get(String(pid));
      if (!process) continue;
      if (start.host !== "") hosts.set(process, start.host);
      if (start.launch && start.launch !== "exec") {
        // Until a launch arrow says better (applyLaunches): what the process knew of its start.
        const parent = start.parentPid === undefined
          ? undefined
          : source.pid_map?.[JSON.stringify(start.parentPid)] ?? start.parentPid;
        if (parent !== undefined && this.#processes.has(String(parent))) process.parent = parent;
        process.launch = start.launch;
      }
      const end = readEnd(source.tracerEnd);
      if (!end) {
        process.ending = "no end record (killed?)";
        continue;
      }
      process.droppedEvents += end.droppedEvents;
      if (end.exit !== undefined && !end.normalEnd) process.ending = end.exit;
    }
    groupByHost(hosts);
    return argv;
  }

  /**
   * The encoded bytes (lib/report_format.ts) after `header`, in chunks of about 64 KiB; the header
   * is encoded piece by piece (its string table can be hundreds of MiB), then the columns.
   */
  *encode(header: ReportHeader): Generator<Uint8Array> {
    this.#finish();
    const { strings, ...rest } = header;
    // jsonText: a lone surrogate is spelled as the JSON output spells it, not turned into U+FFFD.
    // The string table first, then the rest of the header's members.
    const restText = jsonText(rest);
    const pieces = function* (): Generator<string> {
      yield '{"strings":[';
      for (let i = 0; i < strings.length; i++) yield (i > 0 ? "," : "") + jsonText(strings[i]);
      yield "]," + restText.slice(1);
    };
    let length = 0;
    for (const piece of pieces()) length += utf8Length(piece);
    const out = new VarintWriter();
    for (let i = 0; i < MAGIC.length; i++) out.write(MAGIC.charCodeAt(i));
    out.write(length);
    yield out.take();
    const encoder = new TextEncoder();
    let batch = "";
    let written = 0;
    for (const piece of pieces()) {
      batch += piece;
      if (batch.length < 1 << 16) continue;
      const bytes = encoder.encode(batch);
      written += bytes.length;
      yield bytes;
      batch = "";
    }
    const bytes = encoder.encode(batch);
    written += bytes.length;
    // A wrong length would shift every column the viewer reads: never write one.
    if (written !== length) throw new Error(`report header is ${written} bytes, not ${length}`);
    yield bytes;
    for (const column of COLUMNS) yield* this.#columns[column].drain();
  }
}

/** `text` in a string of its own (flat, referring to no other string). */
function ownCopy(text: string): string {
  // Concatenation makes a new string; slicing it flattens it into fresh memory of this length + 1.
  return (" " + text).slice(1);
}

/** The UTF-8 byte length of well-formed text (what TextEncoder would write). */
function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) length += 1;
    else if (code >= 0xd800 && code <= 0xdbff) i++, length += 2; // a pair: 4 bytes for 2 units
    else length += 2;
  }
  return length;
}

/**
 * Reads a whole trace into a builder and finishes it (`stop` can end that too); returns it with
 * the header. The caller closes the builder; on a failure here it is closed already.
 */
export async function buildReport(
  trace: CombinedTrace,
  options: { limits?: BuilderLimits; stop?: AbortSignal } = {},
): Promise<{ builder: ReportBuilder; header: ReportHeader }> {
  const builder = new ReportBuilder(options.limits);
  try {
    for await (const batch of trace.events) {
      for (const event of batch) builder.add(event);
    }
    await builder.finish(turnsFor(options.stop));
    return { builder, header: builder.header(trace) };
  } catch (error) {
    builder.close();
    throw error;
  }
}

/**
 * Processes from more than one host: each says its host, and those without a sort index of their
 * own are ordered host by host (hosts by name), so the process tree groups them.
 */
function groupByHost(hosts: Map<ProcessInfo, string>): void {
  const names = [...new Set(hosts.values())].sort();
  if (names.length < 2) return;
  for (const [process, host] of hosts) {
    process.host = host;
    if (process.sortIndex === 0) process.sortIndex = names.indexOf(host) + 1;
  }
}
