/**
 * Everything a frame depends on: the view controller (view_controller.ts) changes it, the renderer
 * (render/frame.ts) draws it. Units: lib/viewer/sizes.ts.
 * @module
 */
import type { Layout } from "./layout.ts";
import type { Model } from "./model.ts";
import type { SearchResult } from "./search.ts";
import type { TimeScale } from "./time_scale.ts";

/** Everything a frame depends on. */
export interface ViewState {
  model: Model;
  layout: Layout;
  scale: TimeScale;
  scrollY: number;
  /** CSS pixels of the canvas. */
  width: number;
  height: number;
  /** Device pixels per CSS pixel (the canvas is `width * pixelRatio` device pixels wide). */
  pixelRatio: number;
  /** The selected slice; at most one of it and `selectedInstant` is set. */
  selected?: { track: number; slice: number };
  /** The selected instant (an index into `model.header.instants`). */
  selectedInstant?: number;
  range?: { t0: number; t1: number };
  search?: SearchResult;
  currentMatch: number;
  /** Index (display order) of the process the keyboard moves and expands. */
  focus: number;
  /** Busy fraction per minimap column over the whole trace. */
  overview: Float32Array;
}
