/**
 * Vertical layout of the track area: one header row per process, then its counters and threads
 * (one row per call depth), collapsible. Pure: no DOM.
 * @module
 */
import type { CounterSeries } from "./format.ts";
import type { Model, ProcessModel, Track } from "./model.ts";
import { COUNTER_HEIGHT, LEVEL_HEIGHT, PROCESS_HEIGHT } from "./sizes.ts";

const THREAD_PADDING = 6;

/** One horizontal band of the track area. */
export type Row =
  | { kind: "process"; y: number; height: number; process: ProcessModel; collapsed: boolean }
  | { kind: "counter"; y: number; height: number; process: ProcessModel; series: CounterSeries }
  | {
    kind: "thread";
    y: number;
    height: number;
    process: ProcessModel;
    track: Track;
    /** Depth levels shown (1 when collapsed). */
    levels: number;
    collapsed: boolean;
  };

/** The rows in display order and the total height. */
export interface Layout {
  rows: Row[];
  height: number;
}

/** Key of a process in the collapsed set. */
export function processKey(process: ProcessModel): string {
  return `p${process.info.pid}`;
}

/** Key of a thread in the collapsed set. */
export function trackKey(track: Track): string {
  return `t${track.info.pid}:${track.info.tid}`;
}

/** Lays the processes out from y = 0; `collapsed` holds process and thread keys. */
export function computeLayout(model: Model, collapsed: ReadonlySet<string>): Layout {
  const rows: Row[] = [];
  let y = 0;
  const countersByPid = new Map<string, CounterSeries[]>();
  for (const series of model.header.counters) {
    const key = String(series.pid);
    countersByPid.set(key, [...countersByPid.get(key) ?? [], series]);
  }
  for (const process of model.processes) {
    const isCollapsed = collapsed.has(processKey(process));
    rows.push({ kind: "process", y, height: PROCESS_HEIGHT, process, collapsed: isCollapsed });
    y += PROCESS_HEIGHT;
    if (isCollapsed) continue;
    for (const series of countersByPid.get(String(process.info.pid)) ?? []) {
      rows.push({ kind: "counter", y, height: COUNTER_HEIGHT, process, series });
      y += COUNTER_HEIGHT;
    }
    for (const track of process.tracks) {
      const trackCollapsed = collapsed.has(trackKey(track));
      const levels = trackCollapsed ? 1 : Math.max(1, track.levels.length);
      const height = levels * LEVEL_HEIGHT + THREAD_PADDING;
      rows.push({ kind: "thread", y, height, process, track, levels, collapsed: trackCollapsed });
      y += height;
    }
  }
  return { rows, height: y };
}

/** The row at height `y`, if any (binary search). */
export function rowAt(layout: Layout, y: number): Row | undefined {
  const rows = layout.rows;
  let lo = 0;
  let hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const row = rows[mid];
    if (y < row.y) hi = mid - 1;
    else if (y >= row.y + row.height) lo = mid + 1;
    else return row;
  }
  return undefined;
}

/** Index of the first row whose bottom is below `y`. */
export function firstRowBelow(layout: Layout, y: number): number {
  const rows = layout.rows;
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid].y + rows[mid].height <= y) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The y of a depth level inside a thread row. */
export function levelY(row: { y: number }, depth: number): number {
  return row.y + 2 + depth * LEVEL_HEIGHT;
}

/** The slice of `track` at time `t` and depth `depth`, or -1 (binary search in the level). */
export function sliceAt(track: Track, depth: number, t: number, slack = 0): number {
  const level = track.levels[depth];
  if (!level || level.length === 0) return -1;
  const i = firstEndingAfter(track, level, t - slack);
  if (i >= level.length) return -1;
  const k = level[i];
  return track.start[k] <= t + slack ? k : -1;
}

/** Index in `level` of the first slice ending after `t` (ends are sorted within a level). */
export function firstEndingAfter(track: Track, level: Uint32Array, t: number): number {
  const { start, dur } = track;
  let lo = 0;
  let hi = level.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = level[mid];
    if (start[k] + dur[k] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * First index >= `from` in `level` whose slice starts at or after `t`. Gallops from `from`, then
 * bisects: the renderer asks for a nearby index, many times per frame.
 */
export function firstStartingAt(track: Track, level: Uint32Array, t: number, from = 0): number {
  const start = track.start;
  let lo = from;
  let step = 1;
  let hi = from;
  while (hi < level.length && start[level[hi]] < t) {
    lo = hi + 1;
    hi += step;
    step *= 2;
  }
  hi = Math.min(hi, level.length);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (start[level[mid]] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
