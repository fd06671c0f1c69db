/**
 * Flow arrows resolved to slices: each step of a flow (lib/report_format.ts `FlowRecord`) finds its slice by
 * its binding, and consecutive steps make one arrow. Pure: no DOM.
 * @module
 */
import type { FlowBind } from "../report_format.ts";
import { firstStartingAt, sliceAt } from "./layout.ts";
import type { Arrow, ArrowEnd, Model, Track } from "./model.ts";

/** Every arrow of the model's flows whose two ends find a slice. */
export function resolveArrows(model: Model): Arrow[] {
  const arrows: Arrow[] = [];
  for (const flow of model.header.flows) {
    let previous: ArrowEnd | undefined;
    flow.steps.forEach(([trackIndex, ticks], i) => {
      const track = model.tracks[trackIndex];
      const bind = flow.binds?.[i] ?? (i === 0 ? "e" : "n");
      const slice = track ? bindSlice(track, ticks, bind) : -1;
      const end = slice >= 0 ? { track, slice } : undefined;
      if (previous && end) {
        arrows.push({ kind: flow.kind ?? "flow", name: flow.name, from: previous, to: end });
      }
      previous = end;
    });
  }
  return arrows;
}

/** The slice a step at `t` binds to on `track`, or -1. */
export function bindSlice(track: Track, t: number, bind: FlowBind): number {
  const { levels, start } = track;
  if (bind === "e") {
    for (let depth = levels.length - 1; depth >= 0; depth--) {
      const k = sliceAt(track, depth, t);
      if (k >= 0) return k;
    }
    return -1;
  }
  if (bind === "m") {
    const top = levels[0] ?? new Uint32Array(0);
    let best = -1;
    for (let i = firstStartingAt(track, top, t); i < top.length; i++) {
      if (best < 0 || track.dur[top[i]] > track.dur[best]) best = top[i];
    }
    return best;
  }
  // The next slice to start; of several starting together, the outermost.
  let best = -1;
  for (let depth = 0; depth < levels.length; depth++) {
    const level = levels[depth];
    const i = firstStartingAt(track, level, t);
    if (i < level.length && (best < 0 || start[level[i]] < start[best])) best = level[i];
  }
  return best;
}
