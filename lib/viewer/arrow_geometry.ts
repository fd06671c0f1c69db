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

/**
 * Above this many task and result arrows in the view, only those with an end at the selected
 * slice are drawn (launch arrows always are): thousands of crossing curves cost frames and show
 * nothing.
 */
export const MAX_TASK_ARROWS = 300;

/** What `placeArrows` found: the arrows to draw, and how many task arrows it left out. */
export interface PlacedArrows {
  arrows: PlacedArrow[];
  hidden: number;
}

/**
 * The arrows with at least one end in the view's time window: every launch arrow, and the task
 * and result arrows unless there are more than `MAX_TASK_ARROWS` (then those at the selection).
 */
export function placeArrows(state: ViewState): PlacedArrows {
  const { scale, layout, model, selected } = state;
  const inView = (arrow: Arrow) => {
    const a = arrow.from.track.start[arrow.from.slice];
    const b = arrow.to.track.start[arrow.to.slice];
    return Math.max(a, b) >= scale.start && Math.min(a, b) <= scale.end;
  };
  // Counted first, without placing: a frame must not allocate for thousands of hidden arrows.
  let tasks = 0;
  for (const arrow of model.arrows) if (arrow.kind !== "launch" && inView(arrow)) tasks++;
  const every = tasks <= MAX_TASK_ARROWS;
  const atSelection = (end: ArrowEnd) =>
    selected !== undefined && end.track.index === selected.track && end.slice === selected.slice;
  const bands = new Map<number, SliceBand>();
  for (const row of layout.rows) {
    const band = bandOf(row);
    if (band) bands.set(band.track.index, band);
  }
  const arrows: PlacedArrow[] = [];
  let shownTasks = 0;
  for (const arrow of model.arrows) {
    if (!inView(arrow)) continue;
    const task = arrow.kind !== "launch";
    if (task && !every && !atSelection(arrow.from) && !atSelection(arrow.to)) continue;
    const from = pointOf(state, bands, arrow.from, arrow.from.track.start[arrow.from.slice]);
    const to = pointOf(state, bands, arrow.to, arrow.to.track.start[arrow.to.slice]);
    if (!from || !to) continue;
    arrows.push({ arrow, from, to });
    if (task) shownTasks++;
  }
  return { arrows, hidden: every ? 0 : tasks - shownTasks };
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
