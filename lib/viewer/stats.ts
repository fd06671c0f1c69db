/**
 * Per-function statistics over a time range: count, total, self and average time, clipped to the
 * range. Pure: no DOM.
 * @module
 */
import { firstEndingAfter } from "./layout.ts";
import type { Model, Track } from "./model.ts";

/** One function's figures in ticks. */
export interface FunctionStats {
  name: string;
  count: number;
  /** Time inside the range spent in calls of it, outer calls only (recursion is not counted twice). */
  total: number;
  /** Time inside the range spent in it and not in its callees. */
  self: number;
  /** `total / count`. */
  average: number;
}

/** Columns the statistics can be sorted by. */
export type StatsKey = "name" | "count" | "total" | "self" | "average";

/** Statistics of slices overlapping [t0, t1] on the tracks accepted by `filter` (all by default). */
export function rangeStats(
  model: Model,
  range: { t0: number; t1: number },
  options: { filter?: (track: Track) => boolean } = {},
): FunctionStats[] {
  const { t0, t1 } = range;
  const strings = model.strings;
  const count = new Float64Array(strings.length);
  const total = new Float64Array(strings.length);
  const self = new Float64Array(strings.length);
  const used: number[] = [];
  for (const track of model.tracks) {
    if (options.filter && !options.filter(track)) continue;
    const { start, dur, name, parent, levels } = track;
    for (const level of levels) {
      for (let i = firstEndingAfter(track, level, t0); i < level.length; i++) {
        const k = level[i];
        const s = start[k];
        if (s >= t1) break;
        const clipped = Math.min(s + dur[k], t1) - Math.max(s, t0);
        const id = name[k];
        if (count[id] === 0 && total[id] === 0) used.push(id);
        count[id]++;
        self[id] += clipped;
        if (!hasAncestorNamed(track, k, id)) total[id] += clipped;
        const p = parent[k];
        if (p >= 0) self[name[p]] -= clipped;
      }
    }
  }
  return used.map((id) => ({
    name: strings[id],
    count: count[id],
    total: total[id],
    self: Math.max(0, self[id]),
    average: total[id] / count[id],
  }));
}

function hasAncestorNamed(track: Track, k: number, id: number): boolean {
  for (let p = track.parent[k]; p >= 0; p = track.parent[p]) {
    if (track.name[p] === id) return true;
  }
  return false;
}

/** Sorts in place by a column (names ascending, figures descending unless `ascending`). */
export function sortStats(
  rows: FunctionStats[],
  key: StatsKey,
  ascending = key === "name",
): FunctionStats[] {
  const sign = ascending ? 1 : -1;
  return rows.sort((a, b) => {
    const x = a[key];
    const y = b[key];
    return sign * (x < y ? -1 : x > y ? 1 : 0);
  });
}
