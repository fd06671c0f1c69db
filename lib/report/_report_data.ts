/**
 * Builds the report's compact data from an event stream: columnar slices per (pid, tid) in growing
 * typed arrays (no object per event), depth from nesting, a string table, metadata, instants,
 * counters and flows; then encodes it as the byte stream described in lib/report_format.ts.
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

/** Nanoseconds per tick: timestamps are quantized to 10 ns (the shim's own overhead is ~300 ns). */
export const TICK_NS = 10;
const TICKS_PER_US = 1000 / TICK_NS;

interface OpenBegin {
  ticks: number;
  name: number;
  cat: number;
  args: Record<string, unknown> | undefined;
}

class TrackData {
  // Small at first: a trace of many short-lived threads has one track each.
  start = new Float64Array(8);
  dur = new Float64Array(8);
  name = new Uint32Array(8);
  cat = new Uint32Array(8);
  args = new Uint32Array(8);
  flags = new Uint8Array(8);
  length = 0;
  open: OpenBegin[] = [];
  maxEnd = -Infinity;
  name_ = "";
  sortIndex = 0;
  order: Uint32Array = new Uint32Array(0);
  depth: Uint16Array = new Uint16Array(0);
  maxDepth = 0;

  constructor(readonly pid: number | string, readonly tid: number | string) {}

  push(start: number, dur: number, name: number, cat: number, args: number, flags: number) {
    if (this.length === this.start.length) this.#grow();
    const i = this.length++;
    this.start[i] = start;
    this.dur[i] = dur;
    this.name[i] = name;
    this.cat[i] = cat;
    this.args[i] = args;
    this.flags[i] = flags;
    if (start + dur > this.maxEnd) this.maxEnd = start + dur;
  }

  #grow() {
    const size = this.start.length * 2;
    const grow = <T extends Float64Array | Uint32Array | Uint8Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.start = grow(this.start, new Float64Array(size));
    this.dur = grow(this.dur, new Float64Array(size));
    this.name = grow(this.name, new Uint32Array(size));
    this.cat = grow(this.cat, new Uint32Array(size));
    this.args = grow(this.args, new Uint32Array(size));
    this.flags = grow(this.flags, new Uint8Array(size));
  }

  /** Sorts by start (longer first on ties) and computes each slice's depth from nesting. */
  finish() {
    const n = this.length;
    const { start, dur } = this;
    const order = new Uint32Array(n);
    let sorted = true;
    for (let i = 0; i < n; i++) {
      order[i] = i;
      if (
        i > 0 && (start[i] < start[i - 1] || (start[i] === start[i - 1] && dur[i] > dur[i - 1]))
      ) {
        sorted = false;
      }
    }
    if (!sorted) order.sort((a, b) => start[a] - start[b] || dur[b] - dur[a]);
    const depth = new Uint16Array(n);
    const ends: number[] = [];
    let maxDepth = 0;
    for (let k = 0; k < n; k++) {
      const i = order[k];
      while (ends.length > 0 && ends[ends.length - 1] <= start[i]) ends.pop();
      const d = Math.min(ends.length, 0xffff);
      depth[k] = d;
      if (d > maxDepth) maxDepth = d;
      ends.push(start[i] + dur[i]);
    }
    this.order = order;
    this.depth = depth;
    this.maxDepth = maxDepth;
  }
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

/** Collects events into compact storage; call `add` for each event, then `header` and `columns`. */
export class ReportBuilder {
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
      track = new TrackData(idValue(pid), idValue(tid));
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
    track.push(ticks, Math.max(0, dur), name, cat, Math.max(0, argsId), flags);
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

  #finish(): TrackData[] {
    if (this.#finished) return this.#finished;
    for (const track of this.#tracks.values()) {
      while (track.open.length > 0) {
        const begin = track.open.pop()!;
        const end = Math.max(track.maxEnd, begin.ticks);
        this.#slice(track, begin.ticks, end - begin.ticks, begin.name, begin.cat, {
          ...begin.args,
          unfinished: true,
        });
      }
      track.finish();
    }
    this.#finished = [...this.#tracks.values()];
    return this.#finished;
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
    let origin = Infinity;
    let end = -Infinity;
    const extend = (ticks: number) => {
      if (ticks < origin) origin = ticks;
      if (ticks > end) end = ticks;
    };
    for (const track of tracks) {
      if (track.length === 0) continue;
      extend(track.start[track.order[0]]);
      extend(track.maxEnd);
    }
    for (const instant of this.#instants) extend(instant.ticks);
    for (const series of this.#counters.values()) {
      for (let i = 0; i < series.points.length; i += 2) extend(series.points[i]);
    }
    if (origin === Infinity) origin = end = 0;
    const argv = this.#applySources(context.metadata);
    const trackInfos: TrackInfo[] = tracks.map((track) => ({
      pid: track.pid,
      tid: track.tid,
      name: track.name_,
      sortIndex: track.sortIndex,
      count: track.length,
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
      origin,
      end,
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

  /** The encoded bytes (lib/report_format.ts) after `header`, in chunks of about 64 KiB. */
  *encode(header: ReportHeader): Generator<Uint8Array> {
    const tracks = this.#finish();
    // jsonText: a lone surrogate is spelled as the JSON output spells it, not turned into U+FFFD.
    const headerBytes = new TextEncoder().encode(jsonText(header));
    const out = new VarintWriter();
    for (let i = 0; i < MAGIC.length; i++) out.write(MAGIC.charCodeAt(i));
    out.write(headerBytes.length);
    yield out.take();
    yield headerBytes;
    const column = function* (value: (track: TrackData, i: number, k: number) => number) {
      for (const track of tracks) {
        const { order } = track;
        for (let k = 0; k < track.length; k++) {
          const v = value(track, order[k], k);
          if (v >= 0) out.write(v);
          if (out.full) yield out.take();
        }
      }
      yield out.take();
    };
    let previous = 0;
    yield* column((track, i, k) => {
      const start = track.start[i];
      const delta = start - (k === 0 ? header.origin : previous);
      previous = start;
      return delta;
    });
    yield* column((track, i) => track.dur[i]);
    yield* column((track, _i, k) => track.depth[k]);
    yield* column((track, i) => track.name[i]);
    yield* column((track, i) => track.cat[i]);
    yield* column((track, i) => track.flags[i]);
    yield* column((track, i) => (track.flags[i] & FLAG_ARGS ? track.args[i] : -1));
  }
}

/** Reads a whole trace into a builder; returns it with the header. */
export async function buildReport(
  trace: CombinedTrace,
): Promise<{ builder: ReportBuilder; header: ReportHeader }> {
  const builder = new ReportBuilder();
  for await (const event of trace.events) builder.add(event);
  const header = builder.header(trace);
  return { builder, header };
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
