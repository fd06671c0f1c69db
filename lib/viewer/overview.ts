/**
 * The minimap's data: how busy the whole trace is per column.
 * @module
 */
import type { Model } from "./model.ts";

/** Busy fraction of the trace per column: depth-0 slices of every track, for the minimap. */
export function overviewBins(model: Model, bins: number): Float32Array {
  const busy = new Float32Array(bins);
  const per = Math.max(model.duration, 1) / bins;
  let tracks = 0;
  for (const track of model.tracks) {
    const level = track.levels[0];
    if (!level || level.length === 0) continue;
    tracks++;
    for (let i = 0; i < level.length; i++) {
      const k = level[i];
      let s = track.start[k] / per;
      const e = (track.start[k] + track.dur[k]) / per;
      while (s < e && s < bins) {
        const bin = Math.floor(s);
        const next = Math.min(bin + 1, e);
        busy[bin] += next - s;
        s = next;
      }
    }
  }
  if (tracks > 0) { for (let i = 0; i < bins; i++) busy[i] = Math.min(1, busy[i] / tracks); }
  return busy;
}
