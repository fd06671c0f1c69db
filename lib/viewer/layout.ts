/**
 * Vertical layout of the track area. By default every process is a compact lane (its first
 * thread's activity strip beside its name) and every other thread a thin activity strip, so a run
 * of ~30 processes fits one screen; an expanded thread is a flame chart of a bounded number of
 * depth levels (all of them once its depth is expanded too), under its process's header and
 * counters. Pure: no DOM.
 * @module
 */
import type { CounterSeries } from "../report_format.ts";
import type { Model, ProcessModel, Track } from "./model.ts";
import {
  COUNTER_HEIGHT,
  FOOTER_HEIGHT,
  LANE_HEIGHT,
  LEVEL_HEIGHT,
  MAX_LEVELS,
  PROCESS_HEIGHT,
  STRIP_HEIGHT,
  STRIP_LEVEL_HEIGHT,
} from "./sizes.ts";

const THREAD_PADDING = 6;
/** Space above level 0 in a row. */
const BAND_TOP = 2;

/** The slice levels a row draws: from `top` down, `levels` levels `levelHeight` high. */
export interface SliceBand {
  track: Track;
  /** Content y of level 0. */
  top: number;
  levels: number;
  levelHeight: number;
  /** True for a flame chart (labels, outlines), false for an activity strip. */
  chart: boolean;
}

/** One horizontal band of the track area. */
export type Row =
  | {
    kind: "process";
    y: number;
    height: number;
    process: ProcessModel;
    /** Some thread of it is expanded (the row is a header), else it is a compact lane. */
    expanded: boolean;
    /** A compact lane's strip: its first thread. */
    band?: SliceBand;
  }
  | { kind: "counter"; y: number; height: number; process: ProcessModel; series: CounterSeries }
  | {
    kind: "thread";
    y: number;
    height: number;
    process: ProcessModel;
    track: Track;
    expanded: boolean;
    band: SliceBand;
    /** Depth levels of the track not drawn (the depth is bounded until expanded). */
    hidden: number;
    /** The row ends in a footer that expands (or bounds again) the depth. */
    footer: boolean;
  };

/** The rows in display order and the total height. */
export interface Layout {
  rows: Row[];
  height: number;
}

/** What is unfolded: thread flame charts and threads with their whole depth (`trackKey`s). */
export interface Unfolded {
  expanded: ReadonlySet<string>;
  deep: ReadonlySet<string>;
}

/** Key of a thread in the unfolded sets. */
export function trackKey(track: Track): string {
  return `${track.info.pid}\u0000${track.info.tid}`;
}

/** True when some thread of `process` is expanded. */
export function isExpanded(process: ProcessModel, unfolded: Unfolded): boolean {
  return process.tracks.some((track) => unfolded.expanded.has(trackKey(track)));
}

/** Lays the processes out from y = 0. */
export function computeLayout(model: Model, unfolded: Unfolded): Layout {
  const rows: Row[] = [];
  let y = 0;
  const countersByPid = new Map<string, CounterSeries[]>();
  for (const series of model.header.counters) {
    const key = String(series.pid);
    countersByPid.set(key, [...countersByPid.get(key) ?? [], series]);
  }
  for (const process of model.processes) {
    const expanded = isExpanded(process, unfolded);
    const tracks = process.tracks;
    if (!expanded) {
      const first = tracks[0];
      const band = first ? strip(first, y, LANE_HEIGHT) : undefined;
      rows.push({ kind: "process", y, height: LANE_HEIGHT, process, expanded, band });
      y += LANE_HEIGHT;
      for (const track of tracks.slice(1)) {
        const band = strip(track, y, STRIP_HEIGHT);
        rows.push(threadRow(process, track, y, STRIP_HEIGHT, false, band, 0, false));
        y += STRIP_HEIGHT;
      }
      continue;
    }
    rows.push({ kind: "process", y, height: PROCESS_HEIGHT, process, expanded });
    y += PROCESS_HEIGHT;
    for (const series of countersByPid.get(String(process.info.pid)) ?? []) {
      rows.push({ kind: "counter", y, height: COUNTER_HEIGHT, process, series });
      y += COUNTER_HEIGHT;
    }
    for (const track of tracks) {
      const key = trackKey(track);
      if (!unfolded.expanded.has(key)) {
        const band = strip(track, y, STRIP_HEIGHT);
        rows.push(threadRow(process, track, y, STRIP_HEIGHT, false, band, 0, false));
        y += STRIP_HEIGHT;
        continue;
      }
      const total = Math.max(1, track.levels.length);
      const levels = unfolded.deep.has(key) ? total : Math.min(total, MAX_LEVELS);
      const footer = total > MAX_LEVELS;
      const height = levels * LEVEL_HEIGHT + THREAD_PADDING + (footer ? FOOTER_HEIGHT : 0);
      const band = { track, top: y + BAND_TOP, levels, levelHeight: LEVEL_HEIGHT, chart: true };
      rows.push(threadRow(process, track, y, height, true, band, total - levels, footer));
      y += height;
    }
  }
  return { rows, height: y };
}

function strip(track: Track, y: number, height: number): SliceBand {
  const room = Math.floor((height - 2 * BAND_TOP) / STRIP_LEVEL_HEIGHT);
  const levels = Math.max(1, Math.min(track.levels.length, room));
  return { track, top: y + BAND_TOP, levels, levelHeight: STRIP_LEVEL_HEIGHT, chart: false };
}

function threadRow(
  process: ProcessModel,
  track: Track,
  y: number,
  height: number,
  expanded: boolean,
  band: SliceBand,
  hidden: number,
  footer: boolean,
): Row {
  return { kind: "thread", y, height, process, track, expanded, band, hidden, footer };
}

/** The slice levels a row draws, if any. */
export function bandOf(row: Row): SliceBand | undefined {
  return row.kind === "counter" ? undefined : row.band;
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

/** The content y of a depth level of a band. */
export function levelY(band: SliceBand, depth: number): number {
  return band.top + depth * band.levelHeight;
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
