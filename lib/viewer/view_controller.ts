/**
 * What the viewer shows, and every change to it, without the DOM: the view (time window, scroll,
 * canvas size), folded rows, selection, range, search and held keys, plus hit testing. The page
 * (main.ts) turns input into these calls and draws `state`; the tests drive it directly.
 * Coordinates are canvas CSS pixels and ticks (lib/viewer/sizes.ts).
 * @module
 */
import type { Command, Motion } from "./input.ts";
import { computeLayout, levelY, processKey, type Row, rowAt, sliceAt, trackKey } from "./layout.ts";
import type { Model, Track } from "./model.ts";
import { overviewBins } from "./overview.ts";
import type { ViewState } from "./view_state.ts";
import { searchSlices, stepMatch } from "./search.ts";
import { GUTTER, LEVEL_HEIGHT, TRACKS_TOP } from "./sizes.ts";
import { TimeScale } from "./time_scale.ts";

/** Minimap columns of the whole-trace overview. */
const OVERVIEW_BINS = 2000;
/** Held-key speeds: zoom factor e^(3/s), pan 1.2 view widths/s, scroll 1200 px/s. */
const ZOOM_RATE = 3;
const PAN_RATE = 1.2;
const SCROLL_RATE = 1200;

/** What is under a canvas point: a row, and the slice index under it (-1 for none). */
export interface Hit {
  row: Row;
  slice: number;
}

/** What a click did. */
export type ClickOutcome =
  | { kind: "folded" }
  | { kind: "selected"; track: Track; slice: number }
  | { kind: "cleared" }
  | { kind: "nothing" };

/** The viewer's state and the operations on it; `changed` is called whenever a frame is due. */
export class ViewController {
  readonly state: ViewState;
  /** Folded processes and threads (`processKey`, `trackKey`). */
  readonly collapsed: Set<string> = new Set();
  /** Plot x of the pointer, the centre of held-key zooming; undefined when it is off the plot. */
  pointerX: number | undefined;
  #held: ReadonlySet<Motion> = new Set();

  /** Shows the whole trace in an 800 x 600 canvas until the first `resize`. */
  constructor(readonly model: Model, private readonly changed: () => void) {
    const span = Math.max(model.duration, 10);
    this.state = {
      model,
      layout: computeLayout(model, this.collapsed),
      scale: new TimeScale(0, span, 800, span),
      scrollY: 0,
      width: 800,
      height: 600,
      pixelRatio: 1,
      currentMatch: -1,
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
    if (row.kind !== "thread" || x < GUTTER) return { row, slice: -1 };
    const depth = Math.floor((y - TRACKS_TOP + scrollY - levelY(row, 0)) / LEVEL_HEIGHT);
    if (depth < 0 || depth >= row.levels) return { row, slice: -1 };
    const t = scale.toTime(x - GUTTER);
    return { row, slice: sliceAt(row.track, depth, t, scale.perPixel * 0.5) };
  }

  /** A click at canvas point (x, y): folds a row by its header or label, or selects a slice. */
  click(x: number, y: number): ClickOutcome {
    const hit = this.hit(x, y);
    if (!hit) return { kind: "nothing" };
    const { row } = hit;
    if (row.kind === "process") {
      this.#toggle(processKey(row.process));
      return { kind: "folded" };
    }
    if (row.kind === "thread" && x < GUTTER) {
      this.#toggle(trackKey(row.track));
      return { kind: "folded" };
    }
    if (row.kind === "thread" && hit.slice >= 0) {
      this.select(row.track, hit.slice);
      return { kind: "selected", track: row.track, slice: hit.slice };
    }
    this.state.selected = undefined;
    this.changed();
    return { kind: "cleared" };
  }

  /** Selects slice `k` of `track`; with `reveal`, scrolls and pans to it. */
  select(track: Track, k: number, reveal = false): void {
    this.state.selected = { track: track.index, slice: k };
    if (reveal) this.#reveal(track, k);
    this.changed();
  }

  /** Selects the range [t0, t1] (ticks, either order). */
  setRange(t0: number, t1: number): void {
    if (t1 < t0) [t0, t1] = [t1, t0];
    this.state.range = { t0, t1 };
    this.changed();
  }

  /** Searches slice names for `query` ("" clears the search); returns the match count. */
  search(query: string): number {
    this.state.search = query ? searchSlices(this.model, query) : undefined;
    this.state.currentMatch = -1;
    this.changed();
    return this.state.search?.slices.length ?? 0;
  }

  /** Selects and reveals the next (1) or previous (-1) match; returns it, if there is one. */
  stepMatch(step: 1 | -1): { track: Track; slice: number } | undefined {
    const result = this.state.search;
    if (!result) return undefined;
    const next = stepMatch(result, this.state.currentMatch, step);
    if (next < 0) return undefined;
    this.state.currentMatch = next;
    const track = this.model.tracks[result.tracks[next]];
    this.select(track, result.slices[next], true);
    return { track, slice: result.slices[next] };
  }

  /** The view commands of the keyboard (search commands are the page's). */
  command(command: Exclude<Command, "focusSearch" | "nextMatch" | "prevMatch">): void {
    const { scale, range, selected } = this.state;
    if (command === "reset") scale.reset();
    else if (command === "clear") {
      this.state.range = undefined;
      this.state.selected = undefined;
    } else if (range) scale.set(range.t0, range.t1);
    else if (selected) {
      const track = this.model.tracks[selected.track];
      const s = track.start[selected.slice];
      const d = Math.max(track.dur[selected.slice], 10);
      scale.set(s - d * 0.1, s + d * 1.1);
    }
    this.changed();
  }

  #toggle(key: string): void {
    if (!this.collapsed.delete(key)) this.collapsed.add(key);
    this.state.layout = computeLayout(this.model, this.collapsed);
    this.#clampScroll();
    this.changed();
  }

  /** Scrolls and pans so slice k is visible (zooming out if it is wider than the view). */
  #reveal(track: Track, k: number): void {
    const { scale } = this.state;
    const s = track.start[k];
    const e = s + track.dur[k];
    if (s < scale.start || e > scale.end) {
      const span = Math.max(scale.end - scale.start, (e - s) * 1.5);
      scale.set(s + (e - s) / 2 - span / 2, s + (e - s) / 2 + span / 2);
    }
    const row = this.state.layout.rows.find((r) => r.kind === "thread" && r.track === track);
    if (!row) return;
    const y = levelY(row, track.depth[k]);
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
