/**
 * Where each input file goes: the shift of its timestamps and the remapping of its pids (the rule
 * is in lib/combine/combine.ts), and applying that to one event.
 * @module
 */
import { basename, dirname, resolve } from "node:path";
import type { TraceFileInfo } from "./_json_scanner.ts";
import { type Id, IdMap, idOfValue, IdSet, idText, idValue, type ThreadSet } from "./_ids.ts";
import type { TraceEvent } from "../trace_event.ts";
import type { Turns } from "../turns.ts";
import type { TracerEnd, TracerStart } from "../trace_metadata.ts";

/** What the first pass (or the file's end metadata) tells about one file. */
export interface FileProbe {
  /** The input file. */
  path: string;
  /** Its metadata, event count and damage (damage of an unscanned file shows up later). */
  info: TraceFileInfo;
  /** What tracer reads of its `otherData`. */
  start: TracerStart;
  /** What tracer reads of its `tracerEnd`, if it has one. */
  end: TracerEnd | undefined;
  /** Earliest `ts` of a non-metadata event, absurd ones left out; Infinity if none. */
  minTs: number;
  /** Events whose `ts` is absurd (isAbsurdTs): how many, and the first one's. */
  absurdTs?: { count: number; first: number };
  /** Pids used by the events. */
  pids: IdSet;
  /** Threads used by the events. */
  threads: ThreadSet;
}

/** How one input file's events are moved onto the common timeline. */
export interface FilePlan {
  /** The input file. */
  path: string;
  /** Added to every non-metadata `ts`. */
  shift: number;
  /** Original pid -> new pid, for pids that collided with another file's. */
  pidMap: IdMap;
  /** `process_labels` events announcing the remapped pids. */
  labels: PidLabels;
}

/**
 * The `process_labels` events of one file, made as they are written: a file may remap a million
 * pids, and a million event objects held until then took hundreds of MB.
 */
export class PidLabels {
  /** The pid each label is for (as written: a remapped pid is its new one). */
  #pids: Id[] = [];
  /** The pid it had in the file, when remapped; undefined for a host label. */
  #originals: (Id | undefined)[] = [];

  constructor(private readonly host: string, private readonly source: string) {}

  /** Labels `pid` with its host, or with its original pid and file when it was remapped. */
  add(pid: Id, original?: Id): void {
    this.#pids.push(pid);
    this.#originals.push(original);
  }

  /** The events, made now (none for a pid that is no JSON value: its events are left out). */
  *events(): Generator<TraceEvent> {
    for (const [index, pid] of this.#pids.entries()) {
      const value = idValue(pid) as TraceEvent["pid"];
      if (value === undefined) continue;
      const original = this.#originals[index];
      const labels = original === undefined
        ? `host ${this.host}`
        : `pid ${idText(original)} from ${this.source}`;
      yield { ph: "M", pid: value, name: "process_labels", args: { labels } };
    }
  }
}

/**
 * A `ts` (microseconds) no clock gives: more than ~3,000 years from 0, or not a number. Such a value
 * must not place a file (one event at -1e20 once moved every other file's events by 1e20).
 */
export function isAbsurdTs(ts: number): boolean {
  return !(Math.abs(ts) <= ABSURD_TS_US);
}

const ABSURD_TS_US = 1e17;

/** Largest pid Linux hands out; remapped pids start above it. */
const PID_MAX = 4_194_304;

/** Moves one parsed event onto the timeline of its plan. */
export function placeEvent(event: TraceEvent, plan: FilePlan): void {
  if (event.ph !== "M" && typeof event.ts === "number" && plan.shift !== 0) {
    event.ts = roundTs(event.ts + plan.shift);
  }
  if (plan.pidMap.size > 0 && event.pid !== undefined) {
    const mapped = plan.pidMap.get(idOfValue(event.pid));
    if (mapped !== undefined) event.pid = mapped;
  }
}

/** Rounds a timestamp to the nanosecond, so shifted values print short. */
function roundTs(ts: number): number {
  return Math.round(ts * 1000) / 1000;
}

/** The clock group of a file (host and boot) and its wall-minus-monotonic offset, if it has one. */
function clockOf(probe: FileProbe): { group: string; wallOffset: number } | undefined {
  const { host, bootId, wallOffsetUs } = probe.start;
  return wallOffsetUs === undefined
    ? undefined
    : { group: `${host}\n${bootId}`, wallOffset: wallOffsetUs };
}

/**
 * Decides each file's shift and pid remapping (see the module comment for the rule). A loop over
 * the pids takes `turns`: a file may hold millions.
 */
export async function planFiles(
  probes: FileProbe[],
  align: boolean,
  turns: Turns,
): Promise<FilePlan[]> {
  const offsets = probes.map(() => 0);
  if (align) {
    probes.forEach((probe, index) => offsets[index] = -probe.minTs);
  } else {
    const groups = new Map<string, number>();
    const clocks = probes.map(clockOf);
    for (const clock of clocks) {
      if (clock && !groups.has(clock.group)) groups.set(clock.group, clock.wallOffset);
    }
    if (groups.size > 1) {
      const base = Math.min(...groups.values());
      clocks.forEach((clock, index) => {
        if (clock) offsets[index] = groups.get(clock.group)! - base;
      });
    }
  }
  let origin = Infinity;
  probes.forEach((probe, index) => origin = Math.min(origin, probe.minTs + offsets[index]));
  if (!Number.isFinite(origin)) origin = 0;
  const pidMaps = await remapPids(probes, turns);
  // Processes from more than one host each name theirs; a remapped pid names its origin too.
  const manyHosts =
    new Set(probes.map((probe) => probe.start.host).filter((h) => h !== "")).size > 1;
  const labelled = new IdSet();
  const plans: FilePlan[] = [];
  for (const [index, probe] of probes.entries()) {
    const pidMap = pidMaps[index];
    const host = probe.start.host;
    const labels = new PidLabels(host, sourceLabel(probe));
    if (pidMap.size > 0 || (manyHosts && host !== "")) {
      for (const original of probe.pids) {
        if (turns.due()) await turns.take();
        const moved = pidMap.get(original);
        if (moved === undefined && !(manyHosts && host !== "")) continue;
        const pid = moved ?? original;
        if (!labelled.add(pid)) continue;
        if (moved === undefined) labels.add(pid);
        else labels.add(pid, original);
      }
    }
    plans.push({ path: probe.path, shift: offsets[index] - origin, pidMap, labels });
  }
  return plans;
}

function sourceLabel(probe: FileProbe): string {
  const host = probe.start.host;
  return `${basename(probe.path)}${host !== "" ? ` on ${host}` : ""}`;
}

async function remapPids(probes: FileProbe[], turns: Turns): Promise<IdMap[]> {
  // One file cannot collide with another: the common case of a file of millions of pids.
  if (probes.length === 1) return [new IdMap()];
  const processes = await processRoots(probes, turns);
  /** The last pid handed out; the highest pid of all files at first (found at the first need). */
  let next: number | undefined;
  /** pid -> the process (its first file's index) that claimed it first. */
  const owners = new IdMap();
  /** process -> its new pids, shared by the files of one process (exec successors). */
  const moved = new Map<number, IdMap>();
  const pidMaps: IdMap[] = [];
  for (const [index, probe] of probes.entries()) {
    const process = processes[index];
    const pidMap = new IdMap();
    for (const pid of probe.pids) {
      if (turns.due()) await turns.take();
      const owner = owners.get(pid);
      if (owner === undefined) {
        owners.setOnce(pid, process);
      } else if (owner !== process) {
        let ours = moved.get(process);
        if (ours === undefined) moved.set(process, ours = new IdMap());
        if (ours.get(pid) === undefined) {
          next = (next ?? await highestPid(probes, turns)) + 1;
          ours.setOnce(pid, next);
        }
        pidMap.setOnce(pid, ours.get(pid)!);
      }
    }
    pidMaps.push(pidMap);
  }
  return pidMaps;
}

/** The highest pid of all files, or PID_MAX: remapped pids are above both. */
async function highestPid(probes: FileProbe[], turns: Turns): Promise<number> {
  let highest = PID_MAX;
  for (const probe of probes) {
    for (const pid of probe.pids) {
      if (turns.due()) await turns.take();
      if (typeof pid === "number" && pid > highest) highest = pid;
    }
  }
  return highest;
}

/**
 * Which process each file belongs to, as the index of that process's first file: a tracer file
 * whose `exec_of` names another input of the same pid and directory continues that file's
 * process; every other file is its own.
 */
async function processRoots(probes: FileProbe[], turns: Turns): Promise<number[]> {
  const byFile = new Map(probes.map((probe, index) => [resolve(probe.path), index]));
  const execOf: number[] = [];
  for (const probe of probes) {
    const execOfName = probe.start.execOf;
    const earlier = execOfName === undefined
      ? undefined
      : byFile.get(resolve(dirname(probe.path), basename(execOfName)));
    const same = earlier !== undefined && await sharePid(probes[earlier].pids, probe.pids, turns);
    execOf.push(same ? earlier! : -1);
  }
  return probes.map((_, index) => {
    let root = index;
    for (let hops = 0; execOf[root] >= 0 && hops < probes.length; hops++) root = execOf[root];
    return byFile.get(resolve(probes[root].path))!;
  });
}

async function sharePid(a: IdSet, b: IdSet, turns: Turns): Promise<boolean> {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const pid of small) {
    if (large.has(pid)) return true;
    if (turns.due()) await turns.take();
  }
  return false;
}
