/**
 * Finding slices by name across the whole trace (not just the visible window). Pure: no DOM.
 * @module
 */
import type { Model } from "./model.ts";

/** Every slice whose name matches, in time order. */
export interface SearchResult {
  query: string;
  /** 1 for each string id whose text matches. */
  nameMask: Uint8Array;
  /** Track index of each match (header order). */
  tracks: Uint32Array;
  /** Slice index of each match within its track. */
  slices: Uint32Array;
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

/** All slices whose name contains `query`, ordered by start time (then track). */
export function searchSlices(model: Model, query: string): SearchResult {
  const nameMask = matchNames(model.strings, query);
  let count = 0;
  for (const track of model.tracks) {
    for (let k = 0; k < track.name.length; k++) count += nameMask[track.name[k]];
  }
  const tracks = new Uint32Array(count);
  const slices = new Uint32Array(count);
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
  if (model.tracks.length > 1) {
    const order = new Uint32Array(count).map((_, i) => i);
    order.sort((a, b) => starts[a] - starts[b] || tracks[a] - tracks[b]);
    return {
      query,
      nameMask,
      tracks: order.map((i) => tracks[i]),
      slices: order.map((i) => slices[i]),
    };
  }
  return { query, nameMask, tracks, slices };
}

/** The match after (`step` 1) or before (-1) `current`, wrapping; -1 when there is none. */
export function stepMatch(result: SearchResult, current: number, step: 1 | -1): number {
  const n = result.slices.length;
  if (n === 0) return -1;
  if (current < 0) return step === 1 ? 0 : n - 1;
  return (current + step + n) % n;
}
