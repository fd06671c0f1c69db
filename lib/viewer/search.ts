/**
 * Finding slices and instants by name across the whole trace (not just the visible window).
 * Pure: no DOM.
 * @module
 */
import type { Model } from "./model.ts";

/** Every slice and instant whose name matches, in time order. */
export interface SearchResult {
  query: string;
  /** 1 for each string id whose text matches. */
  nameMask: Uint8Array;
  /** Track index of each match (header order). */
  tracks: Uint32Array;
  /** Slice index of each match within its track; -1 for an instant. */
  slices: Int32Array;
  /** Index into `header.instants` of each match that is an instant; -1 for a slice. */
  instants: Int32Array;
}

/** Marks the string ids containing `query` (case-insensitive). */
export function matchNames(strings: readonly string[], query: string): Uint8Array {
  const mask = new Uint8Array(strings.length);
  const needle = query.toLowerCase();
  for (let id = 0; id < strings.length; id++) {
    if (strings[id].toLowerCase().includes(needle)) mask[id] = 1;
  }
  return mask;
}

/**
 * All slices and instants whose name contains `query`, ordered by start time (then track, a
 * slice before an instant).
 */
export function searchTrace(model: Model, query: string): SearchResult {
  const nameMask = matchNames(model.strings, query);
  const { instants } = model.header;
  let count = 0;
  for (const track of model.tracks) {
    for (let k = 0; k < track.name.length; k++) count += nameMask[track.name[k]];
  }
  for (const instant of instants) count += nameMask[instant[2]];
  const tracks = new Uint32Array(count);
  const slices = new Int32Array(count).fill(-1);
  const found = new Int32Array(count).fill(-1);
  const starts = new Float64Array(count);
  let n = 0;
  for (const track of model.tracks) {
    const { name, start } = track;
    for (let k = 0; k < name.length; k++) {
      if (nameMask[name[k]]) {
        tracks[n] = track.index;
        slices[n] = k;
        starts[n++] = start[k];
      }
    }
  }
  const sliceMatches = n;
  instants.forEach(([track, ticks, name], i) => {
    if (!nameMask[name]) return;
    tracks[n] = track;
    found[n] = i;
    starts[n++] = ticks;
  });
  if (model.tracks.length > 1 || sliceMatches < count) {
    const order = new Uint32Array(count).map((_, i) => i);
    order.sort((a, b) => starts[a] - starts[b] || tracks[a] - tracks[b] || a - b);
    return {
      query,
      nameMask,
      tracks: order.map((i) => tracks[i]),
      slices: Int32Array.from(order, (i) => slices[i]),
      instants: Int32Array.from(order, (i) => found[i]),
    };
  }
  return { query, nameMask, tracks, slices, instants: found };
}

/** The match after (`step` 1) or before (-1) `current`, wrapping; -1 when there is none. */
export function stepMatch(result: SearchResult, current: number, step: 1 | -1): number {
  const n = result.slices.length;
  if (n === 0) return -1;
  if (current < 0) return step === 1 ? 0 : n - 1;
  return (current + step + n) % n;
}
