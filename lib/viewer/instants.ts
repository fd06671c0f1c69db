/**
 * Instants (Trace Event `i`/`I`): what one is (an exception the program raised, a mark of its
 * own), which are on a track in a time window, the one under the pointer, and the slice it
 * happened in. Pure: no DOM.
 * @module
 */
import { sliceAt } from "./layout.ts";
import type { Model, Track } from "./model.ts";

/** The category of exceptions the program raised (args: `type`, `message`, `reraised`). */
export const EXCEPTION_CATEGORY = "exception";

/** Half the width of an instant's marker, in CSS pixels (also how near a hover must come). */
export const MARKER_HALF_WIDTH = 5;
/** Height of an instant's marker under the top of its row, in CSS pixels. */
export const MARKER_HEIGHT = 10;

/** The name of instant `i`. */
export function instantName(model: Model, i: number): string {
  return model.strings[model.header.instants[i][2]] ?? "";
}

/** The category of instant `i`, "" when it has none. */
export function instantCategory(model: Model, i: number): string {
  const cat = model.header.instants[i][4];
  return cat > 0 ? model.strings[cat - 1] ?? "" : "";
}

const exceptionCategories = new WeakMap<Model, number>();

/**
 * The category value (string id + 1, as in `InstantRecord`) of exceptions in `model`, 0 when no
 * string is `exception`; looked up once per model.
 */
export function exceptionCategory(model: Model): number {
  let cat = exceptionCategories.get(model);
  if (cat === undefined) {
    cat = model.strings.indexOf(EXCEPTION_CATEGORY) + 1;
    exceptionCategories.set(model, cat);
  }
  return cat;
}

/** True when instant `i` is an exception the program raised. */
export function isException(model: Model, i: number): boolean {
  const cat = exceptionCategory(model);
  return cat > 0 && model.header.instants[i]?.[4] === cat;
}

/** The args of instant `i`: the parsed object, or the stored text when it is not JSON. */
export function instantArgs(
  model: Model,
  i: number,
): Record<string, unknown> | string | undefined {
  const id = model.header.instants[i][5];
  if (id === undefined || id < 0) return undefined;
  const text = model.strings[id];
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : text;
  } catch {
    return text;
  }
}

/** Index in `list` (instants in time order, as `track.instants`) of the first at or after `t`. */
export function firstInstantAt(model: Model, list: Uint32Array, t: number): number {
  const { instants } = model.header;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (instants[list[mid]][1] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The instant of `track` nearest to time `t` within `slack` ticks, or -1. Of instants equally
 * near, an exception wins (its marker is drawn on top).
 */
export function instantAt(model: Model, track: Track, t: number, slack: number): number {
  const { instants } = model.header;
  const list = track.instants;
  let best = -1;
  let bestDistance = Infinity;
  for (let j = firstInstantAt(model, list, t - slack); j < list.length; j++) {
    const i = list[j];
    const distance = Math.abs(instants[i][1] - t);
    if (instants[i][1] > t + slack) break;
    if (
      distance < bestDistance ||
      (distance === bestDistance && isException(model, i) && !isException(model, best))
    ) {
      best = i;
      bestDistance = distance;
    }
  }
  return best;
}

const kinds = new WeakMap<Track, { exceptions: Uint32Array; others: Uint32Array }>();

/** A track's instants split into exceptions and the others, each in time order (cached). */
export function instantKinds(
  model: Model,
  track: Track,
): { exceptions: Uint32Array; others: Uint32Array } {
  let split = kinds.get(track);
  if (!split) {
    const all = [...track.instants];
    split = {
      exceptions: Uint32Array.from(all.filter((i) => isException(model, i))),
      others: Uint32Array.from(all.filter((i) => !isException(model, i))),
    };
    kinds.set(track, split);
  }
  return split;
}

/**
 * Calls `visit(i, px)` for the first instant of `list` (time order) in each pixel column of
 * [start, end], `px` its plot x rounded: binary searches from column to column, so a frame costs
 * O(columns x log n) however many instants a column holds.
 */
export function eachColumn(
  model: Model,
  list: Uint32Array,
  scale: { start: number; end: number; toPx(t: number): number; toTime(px: number): number },
  visit: (i: number, px: number) => void,
): void {
  const { instants } = model.header;
  let j = firstInstantAt(model, list, scale.start);
  while (j < list.length) {
    const t = instants[list[j]][1];
    if (t > scale.end) break;
    const px = Math.round(scale.toPx(t));
    visit(list[j], px);
    j = Math.max(j + 1, firstInstantAt(model, list, scale.toTime(px + 0.5)));
  }
}

/** The deepest slice of `track` running at time `t` (the call an instant happened in), or -1. */
export function enclosingSlice(track: Track, t: number): number {
  for (let depth = track.levels.length - 1; depth >= 0; depth--) {
    const k = sliceAt(track, depth, t);
    if (k >= 0) return k;
  }
  return -1;
}
