/**
 * What the renderer keeps across frames: colours and label widths per string id, the pixel buffer,
 * the overlay lists, the level-of-detail summaries and the minimap background.
 * @module
 */
import { namePixel } from "../colors.ts";
import { splitName } from "../details.ts";
import { LevelOfDetail } from "../lod.ts";
import type { Model } from "../model.ts";
import { PlotRaster } from "../raster.ts";

/** Caches that live across frames: colours and text widths per string id, buffers, the minimap. */
export class RenderCache {
  readonly raster: PlotRaster = new PlotRaster();
  readonly overlays: Overlays = { labels: [], unfinished: [], matches: [], selection: [] };
  readonly lod: LevelOfDetail;
  readonly strings: readonly string[];
  #pixels: Uint32Array;
  #dimmedPixels: Uint32Array;
  #widths: Float32Array;
  #labels: (string | undefined)[] = [];
  #minimap?: { canvas: OffscreenCanvas; key: string };
  #gutter?: { canvas: OffscreenCanvas; key: string };
  #layoutIds = new WeakMap<object, number>();
  #nextLayoutId = 1;

  /** Creates caches for a model's string table and levels. */
  constructor(model: Model) {
    const strings = this.strings = model.strings;
    this.lod = new LevelOfDetail(model.duration);
    this.#widths = new Float32Array(strings.length).fill(-1);
    this.#pixels = new Uint32Array(strings.length);
    this.#dimmedPixels = new Uint32Array(strings.length);
  }

  /** The fill colour of a name id as a packed pixel (0 is never a colour: they are opaque). */
  pixel(id: number, dimmed: boolean): number {
    const cache = dimmed ? this.#dimmedPixels : this.#pixels;
    return cache[id] || (cache[id] = namePixel(this.strings[id], dimmed));
  }

  /** The text drawn on a slice: the function without its location. */
  label(id: number): string {
    return this.#labels[id] ??= splitName(this.strings[id]).func;
  }

  /** The width of a label in the slice font (measured once). */
  width(ctx: CanvasRenderingContext2D, id: number): number {
    let width = this.#widths[id];
    if (width < 0) width = this.#widths[id] = ctx.measureText(this.label(id)).width;
    return width;
  }

  /** A number for each layout object (part of the gutter image's key). */
  layoutId(layout: object): number {
    let id = this.#layoutIds.get(layout);
    if (id === undefined) this.#layoutIds.set(layout, id = this.#nextLayoutId++);
    return id;
  }

  /** The gutter image drawn by `draw`, redrawn only when `key` changes. */
  gutter(key: string, size: { width: number; height: number }, draw: MinimapPainter) {
    if (this.#gutter?.key !== key) {
      const canvas = new OffscreenCanvas(Math.max(1, size.width), Math.max(1, size.height));
      draw(canvas.getContext("2d")!);
      this.#gutter = { canvas, key };
    }
    return this.#gutter.canvas;
  }

  /** The minimap background drawn by `draw`, redrawn only when `key` changes. */
  minimap(key: string, size: { width: number; height: number }, draw: MinimapPainter) {
    if (this.#minimap?.key !== key) {
      const canvas = new OffscreenCanvas(Math.max(1, size.width), Math.max(1, size.height));
      draw(canvas.getContext("2d")!);
      this.#minimap = { canvas, key };
    }
    return this.#minimap.canvas;
  }
}

/** Paints a cached canvas (the minimap background, the gutter image). */
export type MinimapPainter = (ctx: OffscreenCanvasRenderingContext2D) => void;

/**
 * What is drawn over the pixel buffer, collected while walking the levels (flat number lists,
 * reused across frames): labels as (x, y, width, name id, dimmed), boxes as (x, y, width).
 */
export interface Overlays {
  labels: number[];
  unfinished: number[];
  matches: number[];
  selection: number[];
}
