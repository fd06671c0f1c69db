/**
 * What the viewer shows, and every change to it, without the DOM: the view (time window, scroll,
 * canvas size), folded rows, selection, range, search and held keys, plus hit testing. The page
 * (main.ts) turns input into these calls and draws `state`; the tests drive it directly.
 * Coordinates are canvas CSS pixels and ticks (lib/viewer/sizes.ts).
 * @module
 */
import { placeArrows } from "./arrow_geometry.ts";
import type { Command, Motion } from "./input.ts";
import { enclosingSlice, instantAt, MARKER_HALF_WIDTH, MARKER_HEIGHT } from "./instants.ts";
import {
  bandOf,
  computeLayout,
  isExpanded,
  levelY,
  type Row,
  rowAt,
  sliceAt,
  trackKey,
} from "./layout.ts";
import type { ArrowEnd, Model, ProcessModel, Track } from "./model.ts";
import { overviewBins } from "./overview.ts";
import type { ViewState } from "./view_state.ts";
import { searchTrace, stepMatch } from "./search.ts";
import { FOOTER_HEIGHT, GUTTER, LEVEL_HEIGHT, MAX_LEVELS, TRACKS_TOP } from "./sizes.ts";
import { TimeScale } from "./time_scale.ts";

/** A click this close (CSS px) to an arrow's end selects the slice at its other end. */
const ARROW_END_RADIUS = 6;
/** Minimap columns of the whole-trace overview. */
const OVERVIEW_BINS = 2000;
/** Held-key speeds: zoom factor e^(3/s), pan 1.2 view widths/s, scroll 1200 px/s. */
const ZOOM_RATE = 3;
const PAN_RATE = 1.2;
const SCROLL_RATE = 1200;

/**
 * What is under a canvas point: a row, and the slice index under it (-1 for none), or the instant
 * whose marker is under it (an index into `header.instants`).
 */
export interface Hit {
  row: Row;
  slice: number;
  instant?: number;
}

/** What a click did. */
export type ClickOutcome =
  | { kind: "folded" }
  | { kind: "expanded"; track: Track; slice: number }
  | { kind: "selected"; track: Track; slice: number }
  | { kind: "instant"; instant: number }
  | { kind: "cleared" }
  | { kind: "nothing" };

/** A search match: a slice, or an instant (an index into `header.instants`). */
export type Match =
  | { kind: "slice"; track: Track; slice: number }
  | { kind: "instant"; instant: number };

/** The viewer's state and the operations on it; `changed` is called whenever a frame is due. */
export class ViewController {
  readonly state: ViewState;
  /** Threads shown as flame charts (`trackKey`); the others are activity strips. */
  readonly expanded: Set<string> = new Set();
  /** Expanded threads showing every depth level (`trackKey`). */
  readonly deep: Set<string> = new Set();
  /** Plot x of the pointer, the centre of held-key zooming; undefined when it is off the plot. */
  pointerX: number | undefined;
  #held: ReadonlySet<Motion> = new Set();

  /** Shows the whole trace in an 800 x 600 canvas until the first `resize`. */
  constructor(readonly model: Model, private readonly changed: () => void) {
    const span = Math.max(model.duration, 10);
    this.state = {
      model,
      layout: computeLayout(model, this),
      scale: new TimeScale(0, span, 800, span),
      scrollY: 0,
      width: 800,
      height: 600,
      pixelRatio: 1,
      currentMatch: -1,
      focus: 0,
      overview: overviewBins(model, OVERVIEW_BINS),
    };
  }

  /** The canvas is now `width` x `height` CSS pixels of `pixelRatio` device pixels each. */
  resize(width: number, height: number, pixelRatio: number): void {
    this.state.width = width;
    this.state.height = height;
    this.state.pixelRatio = pixelRatio;
    this.state.scale.width = width - GUTTER;
    this.#clampScroll();
  }

  /** True while a key that moves the view is held. */
  get moving(): boolean {
    return this.#held.size > 0;
  }

  /** The keys held now. */
  setMotion(held: ReadonlySet<Motion>): void {
    this.#held = new Set(held);
    this.changed();
  }

  /** Moves the view for `dt` seconds of the held keys. */
  applyMotion(dt: number): void {
    const { scale } = this.state;
    const held = this.#held;
    const center = this.pointerX ?? scale.width / 2;
    if (held.has("zoomIn")) scale.zoomAt(center, Math.exp(-dt * ZOOM_RATE));
    if (held.has("zoomOut")) scale.zoomAt(center, Math.exp(dt * ZOOM_RATE));
    if (held.has("panLeft")) scale.pan(-dt * scale.width * PAN_RATE);
    if (held.has("panRight")) scale.pan(dt * scale.width * PAN_RATE);
    if (held.has("scrollUp")) this.scroll(-dt * SCROLL_RATE);
    if (held.has("scrollDown")) this.scroll(dt * SCROLL_RATE);
  }

  /** Scrolls the tracks by `dy` CSS pixels. */
  scroll(dy: number): void {
    this.state.scrollY += dy;
    this.#clampScroll();
    this.changed();
  }

  /** Zooms by `factor` around canvas x. */
  zoomAt(x: number, factor: number): void {
    this.state.scale.zoomAt(x - GUTTER, factor);
    this.changed();
  }

  /** Pans by `dx` CSS pixels. */
  pan(dx: number): void {
    this.state.scale.pan(dx);
    this.changed();
  }

  /** Centres the view on the time under canvas x of the minimap (the whole trace). */
  centerAt(x: number): void {
    const { scale } = this.state;
    const t = (x - GUTTER) / scale.width * this.model.duration;
    const span = scale.end - scale.start;
    this.setView(t - span / 2, t + span / 2);
  }

  /** Shows [start, end] (ticks). */
  setView(start: number, end: number): void {
    this.state.scale.set(start, end);
    this.changed();
  }

  /** The row and slice under canvas point (x, y); undefined above the tracks or below the rows. */
  hit(x: number, y: number): Hit | undefined {
    if (y < TRACKS_TOP) return undefined;
    const { layout, scrollY, scale } = this.state;
    const row = rowAt(layout, y - TRACKS_TOP + scrollY);
    if (!row) return undefined;
    const band = bandOf(row);
    if (!band || x < GUTTER) return { row, slice: -1 };
    const t = scale.toTime(x - GUTTER);
    const contentY = y - TRACKS_TOP + scrollY;
    if (contentY < row.y + MARKER_HEIGHT + 2 && band.track.instants.length > 0) {
      // An instant's marker hangs from the top of its row, over the slices.
      const instant = instantAt(this.model, band.track, t, scale.perPixel * MARKER_HALF_WIDTH);
      if (instant >= 0) return { row, slice: -1, instant };
    }
    if (!band.chart) {
      // A strip's levels are too thin to aim at: the deepest slice under the pointer.
      for (let depth = band.levels - 1; depth >= 0; depth--) {
        const k = sliceAt(band.track, depth, t, scale.perPixel * 0.5);
        if (k >= 0) return { row, slice: k };
      }
      return { row, slice: -1 };
    }
    const depth = Math.floor((contentY - levelY(band, 0)) / band.levelHeight);
    if (depth < 0 || depth >= band.levels) return { row, slice: -1 };
    return { row, slice: sliceAt(band.track, depth, t, scale.perPixel * 0.5) };
  }

  /**
   * A click at canvas point (x, y): a process header or name expands or collapses the process, a
   * thread's name the thread, a flame chart's footer its depth; a click on an activity strip
   * expands its thread (selecting the slice under the pointer); in a flame chart it selects. A
   * click on an instant's marker selects the instant (expanding its thread from a strip).
   */
  click(x: number, y: number): ClickOutcome {
    const end = this.#arrowEndAt(x, y);
    if (end) {
      this.select(end.track, end.slice, true);
      return { kind: "selected", track: end.track, slice: end.slice };
    }
    const hit = this.hit(x, y);
    if (!hit) return { kind: "nothing" };
    const { row } = hit;
    this.state.focus = Math.max(0, this.model.processes.indexOf(row.process));
    const band = bandOf(row);
    if (row.kind === "process" && (x < GUTTER || !band)) {
      this.setExpanded(row.process, undefined, !row.expanded);
      return { kind: "folded" };
    }
    if (row.kind === "thread" && x < GUTTER) {
      this.setExpanded(row.process, row.track, !row.expanded);
      return { kind: "folded" };
    }
    if (
      row.kind === "thread" && row.footer &&
      y - TRACKS_TOP + this.state.scrollY >= row.y + row.height - FOOTER_HEIGHT
    ) {
      this.toggleDepth(row.track);
      return { kind: "folded" };
    }
    if (band && hit.instant !== undefined && hit.instant >= 0) {
      this.selectInstant(hit.instant, !band.chart);
      return { kind: "instant", instant: hit.instant };
    }
    if (band && !band.chart) {
      this.setExpanded(row.process, band.track, true);
      if (hit.slice >= 0) this.select(band.track, hit.slice, true);
      return { kind: "expanded", track: band.track, slice: hit.slice };
    }
    if (row.kind === "thread" && hit.slice >= 0) {
      this.select(row.track, hit.slice);
      return { kind: "selected", track: row.track, slice: hit.slice };
    }
    this.state.selected = undefined;
    this.state.selectedInstant = undefined;
    this.changed();
    return { kind: "cleared" };
  }

  /**
   * Selects slice `k` of `track`; with `reveal`, expands its thread (and its depth when the slice
   * lies deeper than the bound), scrolls and pans to it.
   */
  select(track: Track, k: number, reveal = false): void {
    this.state.selected = { track: track.index, slice: k };
    this.state.selectedInstant = undefined;
    if (reveal) {
      const key = trackKey(track);
      let relayout = !this.expanded.has(key);
      this.expanded.add(key);
      if (track.depth[k] >= MAX_LEVELS && !this.deep.has(key)) {
        this.deep.add(key);
        relayout = true;
      }
      if (relayout) this.#relayout();
      this.#reveal(track, track.start[k], track.start[k] + track.dur[k], track.depth[k]);
    }
    this.changed();
  }

  /**
   * Selects instant `i` (an index into `header.instants`); with `reveal`, expands its thread,
   * scrolls and pans to it.
   */
  selectInstant(i: number, reveal = false): void {
    const [trackIndex, t] = this.model.header.instants[i];
    const track = this.model.tracks[trackIndex];
    this.state.selectedInstant = i;
    this.state.selected = undefined;
    if (reveal) {
      const key = trackKey(track);
      if (!this.expanded.has(key)) {
        this.expanded.add(key);
        this.#relayout();
      }
      this.#reveal(track, t, t, 0);
    }
    this.changed();
  }

  /**
   * Expands (flame charts) or collapses (activity strips) one thread of `process`, or all of its
   * threads when `track` is undefined; collapsing also bounds the depth again.
   */
  setExpanded(process: ProcessModel, track: Track | undefined, expand: boolean): void {
    for (const each of track ? [track] : process.tracks) {
      const key = trackKey(each);
      if (expand) this.expanded.add(key);
      else {
        this.expanded.delete(key);
        this.deep.delete(key);
      }
    }
    this.#relayout();
  }

  /** Expands (true) or collapses (false) every thread of every process. */
  expandAll(expand: boolean): void {
    this.deep.clear();
    this.expanded.clear();
    if (expand) { for (const track of this.model.tracks) this.expanded.add(trackKey(track)); }
    this.#relayout();
  }

  /** Shows every depth level of an expanded thread, or bounds it again. */
  toggleDepth(track: Track): void {
    const key = trackKey(track);
    if (!this.deep.delete(key)) {
      this.deep.add(key);
      this.expanded.add(key);
    }
    this.#relayout();
  }

  /** Moves the keyboard focus to the next (1) or previous (-1) process and scrolls to it. */
  focusProcess(step: 1 | -1): void {
    const count = this.model.processes.length;
    if (count === 0) return;
    this.state.focus = Math.max(0, Math.min(count - 1, this.state.focus + step));
    this.#scrollToFocus();
    this.changed();
  }

  /** Expands or collapses the process that has the keyboard focus. */
  toggleFocused(): void {
    const process = this.model.processes[this.state.focus];
    if (!process) return;
    this.setExpanded(process, undefined, !isExpanded(process, this));
    this.#scrollToFocus();
  }

  /** Shows every depth level of the focused process's expanded threads, or bounds them again. */
  toggleFocusedDepth(): void {
    const process = this.model.processes[this.state.focus];
    if (!process) return;
    const deep = process.tracks.some((track) => this.deep.has(trackKey(track)));
    for (const track of process.tracks) {
      const key = trackKey(track);
      if (deep) this.deep.delete(key);
      else if (this.expanded.has(key) || !isExpanded(process, this)) {
        this.expanded.add(key);
        this.deep.add(key);
      }
    }
    this.#relayout();
  }

  #scrollToFocus(): void {
    const process = this.model.processes[this.state.focus];
    const row = this.state.layout.rows.find((r) => r.kind === "process" && r.process === process);
    if (!row) return;
    const room = this.state.height - TRACKS_TOP;
    if (row.y < this.state.scrollY || row.y + row.height > this.state.scrollY + room) {
      this.state.scrollY = row.y - 8;
      this.#clampScroll();
    }
  }

  /** Selects the range [t0, t1] (ticks, either order). */
  setRange(t0: number, t1: number): void {
    if (t1 < t0) [t0, t1] = [t1, t0];
    this.state.range = { t0, t1 };
    this.changed();
  }

  /** Searches slice and instant names for `query` ("" clears the search); returns the count. */
  search(query: string): number {
    this.state.search = query ? searchTrace(this.model, query) : undefined;
    this.state.currentMatch = -1;
    this.changed();
    return this.state.search?.slices.length ?? 0;
  }

  /** Selects and reveals the next (1) or previous (-1) match; returns it, if there is one. */
  stepMatch(step: 1 | -1): Match | undefined {
    const result = this.state.search;
    if (!result) return undefined;
    const next = stepMatch(result, this.state.currentMatch, step);
    if (next < 0) return undefined;
    this.state.currentMatch = next;
    const instant = result.instants[next];
    if (instant >= 0) {
      this.selectInstant(instant, true);
      return { kind: "instant", instant };
    }
    const track = this.model.tracks[result.tracks[next]];
    this.select(track, result.slices[next], true);
    return { kind: "slice", track, slice: result.slices[next] };
  }

  /** The view commands of the keyboard (search commands are the page's). */
  command(command: Exclude<Command, "focusSearch" | "nextMatch" | "prevMatch">): void {
    const { scale, range, selected, selectedInstant } = this.state;
    if (command === "nextProcess") return this.focusProcess(1);
    if (command === "prevProcess") return this.focusProcess(-1);
    if (command === "toggleProcess") return this.toggleFocused();
    if (command === "toggleDepth") return this.toggleFocusedDepth();
    if (command === "expandAll") return this.expandAll(true);
    if (command === "collapseAll") return this.expandAll(false);
    if (command === "reset") scale.reset();
    else if (command === "clear") {
      this.state.range = undefined;
      this.state.selected = undefined;
      this.state.selectedInstant = undefined;
    } else if (range) scale.set(range.t0, range.t1);
    else if (selected) this.#zoomTo(this.model.tracks[selected.track], selected.slice);
    else if (selectedInstant !== undefined) {
      // An instant: the call it happened in, else the same span centred on it.
      const [trackIndex, t] = this.model.header.instants[selectedInstant];
      const track = this.model.tracks[trackIndex];
      const k = enclosingSlice(track, t);
      if (k >= 0) this.#zoomTo(track, k);
      else scale.set(t - (scale.end - scale.start) / 2, t + (scale.end - scale.start) / 2);
    }
    this.changed();
  }

  /** Shows slice `k` of `track` with a margin. */
  #zoomTo(track: Track, k: number): void {
    const s = track.start[k];
    const d = Math.max(track.dur[k], 10);
    this.state.scale.set(s - d * 0.1, s + d * 1.1);
  }

  /** The other end of the arrow whose end is within a few pixels of (x, y), if any. */
  #arrowEndAt(x: number, y: number): ArrowEnd | undefined {
    if (x < GUTTER || y < TRACKS_TOP) return undefined;
    let best: ArrowEnd | undefined;
    let bestDistance = ARROW_END_RADIUS * ARROW_END_RADIUS;
    for (const { arrow, from, to } of placeArrows(this.state).arrows) {
      for (const [point, other] of [[from, arrow.to], [to, arrow.from]] as const) {
        const distance = (point.x - x) ** 2 + (point.y - y) ** 2;
        if (distance <= bestDistance) {
          bestDistance = distance;
          best = other;
        }
      }
    }
    return best;
  }

  #relayout(): void {
    this.state.layout = computeLayout(this.model, this);
    this.#clampScroll();
    this.changed();
  }

  /**
   * Scrolls and pans so the time [s, e] at `depth` of `track` is visible (zooming out if it is
   * wider than the view).
   */
  #reveal(track: Track, s: number, e: number, depth: number): void {
    const { scale } = this.state;
    if (s < scale.start || e > scale.end) {
      const span = Math.max(scale.end - scale.start, (e - s) * 1.5);
      scale.set(s + (e - s) / 2 - span / 2, s + (e - s) / 2 + span / 2);
    }
    const row = this.state.layout.rows.find((r) => bandOf(r)?.track === track);
    const band = row && bandOf(row);
    if (!band) return;
    const y = levelY(band, Math.min(depth, band.levels - 1));
    const room = this.state.height - TRACKS_TOP;
    if (y < this.state.scrollY || y + LEVEL_HEIGHT > this.state.scrollY + room) {
      this.state.scrollY = y - room / 3;
      this.#clampScroll();
    }
  }

  #clampScroll(): void {
    const room = this.state.height - TRACKS_TOP;
    const max = Math.max(0, this.state.layout.height - room + 40);
    this.state.scrollY = Math.max(0, Math.min(max, this.state.scrollY));
  }
}
