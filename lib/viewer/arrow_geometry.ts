/**
 * Where the flow arrows are on the canvas: each end at its slice's level in the row that draws
 * its thread (a strip or a flame chart), at the end's time clamped to the view. Shared by the
 * renderer (render/rows.ts) and the click test (view_controller.ts). Canvas CSS pixels.
 * @module
 */
import type { Arrow, ArrowEnd } from "./model.ts";
import { bandOf, levelY, type SliceBand } from "./layout.ts";
import { GUTTER, TRACKS_TOP } from "./sizes.ts";
import type { ViewState } from "./view_state.ts";

/** A canvas point. */
export interface Point {
  x: number;
  y: number;
}

/** An arrow and its two ends on the canvas. */
export interface PlacedArrow {
  arrow: Arrow;
  from: Point;
  to: Point;
}

/** The arrows with at least one end in the view's time window. */
export function placeArrows(state: ViewState): PlacedArrow[] {
  const { scale, layout, model } = state;
  const bands = new Map<number, SliceBand>();
  for (const row of layout.rows) {
    const band = bandOf(row);
    if (band) bands.set(band.track.index, band);
  }
  const placed: PlacedArrow[] = [];
  for (const arrow of model.arrows) {
    const a = arrow.from.track.start[arrow.from.slice];
    const b = arrow.to.track.start[arrow.to.slice];
    if (Math.max(a, b) < scale.start || Math.min(a, b) > scale.end) continue;
    const from = pointOf(state, bands, arrow.from, a);
    const to = pointOf(state, bands, arrow.to, b);
    if (from && to) placed.push({ arrow, from, to });
  }
  return placed;
}

function pointOf(
  state: ViewState,
  bands: Map<number, SliceBand>,
  end: ArrowEnd,
  t: number,
): Point | undefined {
  const band = bands.get(end.track.index);
  if (!band) return undefined;
  const depth = Math.min(end.track.depth[end.slice], band.levels - 1);
  return {
    x: GUTTER + Math.max(-20, Math.min(state.scale.width + 20, state.scale.toPx(t))),
    y: TRACKS_TOP + levelY(band, depth) - state.scrollY + band.levelHeight / 2,
  };
}
