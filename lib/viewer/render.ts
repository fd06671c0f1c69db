/**
 * Canvas 2D drawing of one frame: minimap, time axis, process headers, counters, flame charts,
 * instants, flows and overlays. Draws only what is visible; slices narrower than a pixel are merged
 * per level by jumping over them with binary search, so a frame costs O(visible pixels x levels).
 * Slice rectangles go into a pixel buffer (raster.ts) put on the canvas once; labels, outlines and
 * everything else are canvas calls drawn over it. The minimap's busy bars are drawn once and cached.
 * @module
 */
import { namePixel } from "./colors.ts";
import { splitName } from "./details.ts";
import { FLAG_UNFINISHED } from "./format.ts";
import {
  firstEndingAfter,
  firstRowBelow,
  type Layout,
  LEVEL_HEIGHT,
  levelY,
  type Row,
  sliceAt,
} from "./layout.ts";
import type { Model, Track } from "./model.ts";
import { hexPixel, PlotRaster } from "./raster.ts";
import { LevelOfDetail, type LevelSummary } from "./lod.ts";
import type { SearchResult } from "./search.ts";
import { axisTicks, formatDuration, type TimeScale } from "./time_scale.ts";

/** Width of the label column on the left. */
export const GUTTER = 200;
/** Height of the minimap strip at the top. */
export const MINIMAP_HEIGHT = 40;
/** Height of the time axis under the minimap. */
export const AXIS_HEIGHT = 22;
/** Where the track area starts. */
export const TRACKS_TOP = MINIMAP_HEIGHT + AXIS_HEIGHT;

const DENSE_PIXEL = hexPixel("#aeb8c6");
const MATCH_COLOR = "#c2410c";
const MATCH_PIXEL = hexPixel(MATCH_COLOR);
const BACKGROUND_PIXEL = hexPixel("#ffffff");
const GRID_PIXEL = hexPixel("#f0f2f5");
/** Slices narrower than this (CSS pixels) get no label. */
const MIN_LABEL_WIDTH = 28;
const FONT = "12px system-ui, -apple-system, 'Segoe UI', sans-serif";
const BOLD_FONT = "600 12px system-ui, -apple-system, 'Segoe UI', sans-serif";

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
  selected?: { track: number; slice: number };
  range?: { t0: number; t1: number };
  search?: SearchResult;
  currentMatch: number;
  /** Busy fraction per minimap column over the whole trace. */
  overview: Float32Array;
}

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

type MinimapPainter = (ctx: OffscreenCanvasRenderingContext2D) => void;

/**
 * What is drawn over the pixel buffer, collected while walking the levels (flat number lists,
 * reused across frames): labels as (x, y, width, name id, dimmed), boxes as (x, y, width).
 */
interface Overlays {
  labels: number[];
  unfinished: number[];
  matches: number[];
  selection: number[];
}

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

/** Draws one frame. */
export function drawFrame(ctx: CanvasRenderingContext2D, state: ViewState, cache: RenderCache) {
  const { width, height } = state;
  // The plot area right of the gutter is wholly covered by the pixel buffer.
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, TRACKS_TOP, GUTTER + 1, height - TRACKS_TOP);
  ctx.save();
  ctx.beginPath();
  ctx.rect(0, TRACKS_TOP, width, height - TRACKS_TOP);
  ctx.clip();
  drawTracks(ctx, state, cache);
  ctx.restore();
  drawMinimap(ctx, state, cache);
  drawAxis(ctx, state);
}

function drawTracks(ctx: CanvasRenderingContext2D, state: ViewState, cache: RenderCache) {
  const { layout, scrollY, height, width, scale, pixelRatio } = state;
  const top = scrollY;
  const bottom = scrollY + height - TRACKS_TOP;
  const first = firstRowBelow(layout, top);
  const raster = cache.raster;
  const plotX = Math.round(GUTTER * pixelRatio);
  const plotY = Math.round(TRACKS_TOP * pixelRatio);
  raster.reset(ctx.canvas.width - plotX, ctx.canvas.height - plotY, BACKGROUND_PIXEL);
  for (const tick of axisTicks(scale, state.model.header.tickNs)) {
    raster.column(Math.round(scale.toPx(tick.t) * pixelRatio), GRID_PIXEL);
  }
  cache.lod.beginFrame();
  const { overlays } = cache;
  overlays.labels.length = overlays.unfinished.length = overlays.matches.length = 0;
  overlays.selection.length = 0;
  for (let r = first; r < layout.rows.length; r++) {
    const row = layout.rows[r];
    if (row.y >= bottom) break;
    if (row.kind !== "thread") continue;
    const y = TRACKS_TOP + row.y - scrollY;
    for (let depth = 0; depth < row.levels; depth++) {
      drawLevel(raster, state, cache, row.track, depth, y + levelY(row, depth) - row.y);
    }
  }
  if (raster.width > 0 && raster.height > 0) {
    ctx.putImageData(new ImageData(raster.bytes, raster.width, raster.height), plotX, plotY);
  }
  drawSliceOverlays(ctx, state, cache);
  const rowOf = new Map<number, Row>();
  for (let r = first; r < layout.rows.length; r++) {
    const row = layout.rows[r];
    if (row.y >= bottom) break;
    const y = TRACKS_TOP + row.y - scrollY;
    if (row.kind === "process") drawProcessRow(ctx, state, row, y);
    else if (row.kind === "counter") drawCounterRow(ctx, state, row, y);
    else {
      rowOf.set(row.track.index, row);
      drawThreadRow(ctx, state, row, y);
    }
  }
  drawInstants(ctx, state, rowOf);
  drawFlows(ctx, state, rowOf);
  if (state.range) {
    const x0 = GUTTER + Math.max(0, scale.toPx(state.range.t0));
    const x1 = GUTTER + Math.min(scale.width, scale.toPx(state.range.t1));
    if (x1 > GUTTER && x0 < width) {
      ctx.fillStyle = "rgba(37, 99, 235, 0.10)";
      ctx.fillRect(x0, TRACKS_TOP, Math.max(1, x1 - x0), height - TRACKS_TOP);
      ctx.fillStyle = "rgba(37, 99, 235, 0.7)";
      ctx.fillRect(x0, TRACKS_TOP, 1, height - TRACKS_TOP);
      ctx.fillRect(x1 - 1, TRACKS_TOP, 1, height - TRACKS_TOP);
    }
  }
}

function drawProcessRow(
  ctx: CanvasRenderingContext2D,
  state: ViewState,
  row: Extract<Row, { kind: "process" }>,
  y: number,
) {
  const { process } = row;
  ctx.fillStyle = "#e8ecf2";
  ctx.fillRect(0, y, state.width, row.height);
  ctx.fillStyle = "#c9d1dc";
  ctx.fillRect(0, y + row.height - 1, state.width, 1);
  ctx.font = BOLD_FONT;
  ctx.textBaseline = "middle";
  ctx.fillStyle = "#1f2937";
  const info = process.info;
  const title = `${row.collapsed ? "▸" : "▾"} ${info.name || "process"} (pid ${info.pid})`;
  ctx.fillText(clip(title, 140), 8, y + row.height / 2);
  let x = 8 + ctx.measureText(clip(title, 140)).width + 14;
  ctx.font = FONT;
  const slices = process.tracks.reduce((sum, track) => sum + track.info.count, 0);
  const parts = [
    `${process.tracks.length} thread${process.tracks.length === 1 ? "" : "s"}`,
    `${slices.toLocaleString("en-US")} slices`,
  ];
  if (info.labels) parts.push(info.labels);
  ctx.fillStyle = "#4b5563";
  const detail = clip(parts.join(" · "), 160);
  ctx.fillText(detail, x, y + row.height / 2);
  x += ctx.measureText(detail).width + 14;
  const alerts: string[] = [];
  if (info.droppedEvents > 0) {
    alerts.push(`⚠ ${info.droppedEvents.toLocaleString("en-US")} events dropped (overflow)`);
  }
  if (process.unfinished > 0) alerts.push(`${process.unfinished} unfinished`);
  if (info.ending) alerts.push(`ended: ${info.ending}`);
  if (alerts.length > 0) {
    ctx.fillStyle = "#b91c1c";
    ctx.fillText(alerts.join(" · "), x, y + row.height / 2);
  }
}

function drawCounterRow(
  ctx: CanvasRenderingContext2D,
  state: ViewState,
  row: Extract<Row, { kind: "counter" }>,
  y: number,
) {
  const { scale } = state;
  const points = row.series.points;
  let max = 0;
  for (let i = 1; i < points.length; i += 2) max = Math.max(max, points[i]);
  ctx.fillStyle = "#fafbfc";
  ctx.fillRect(GUTTER, y, state.width - GUTTER, row.height);
  ctx.fillStyle = "rgba(14, 116, 144, 0.35)";
  ctx.strokeStyle = "#0e7490";
  const base = y + row.height - 3;
  const h = row.height - 8;
  ctx.beginPath();
  ctx.moveTo(GUTTER, base);
  let lastY = base;
  for (let i = 0; i < points.length; i += 2) {
    const x = GUTTER + Math.max(-1, Math.min(scale.width + 1, scale.toPx(points[i])));
    const vy = base - (max > 0 ? points[i + 1] / max * h : 0);
    ctx.lineTo(x, lastY);
    ctx.lineTo(x, vy);
    lastY = vy;
  }
  ctx.lineTo(state.width, lastY);
  ctx.lineTo(state.width, base);
  ctx.closePath();
  ctx.fill();
  drawGutterLabel(ctx, row.series.name, `max ${formatNumber(max)}`, y, row.height);
}

function drawThreadRow(
  ctx: CanvasRenderingContext2D,
  state: ViewState,
  row: Extract<Row, { kind: "thread" }>,
  y: number,
) {
  const { track } = row;
  ctx.fillStyle = "#e5e7eb";
  ctx.fillRect(0, y + row.height - 1, state.width, 1);
  const name = track.info.name || "thread";
  const sub = `tid ${track.info.tid}${row.collapsed ? " · collapsed" : ""}`;
  drawGutterLabel(ctx, `${row.collapsed ? "▸" : "▾"} ${name}`, sub, y, Math.min(row.height, 40));
}

function drawGutterLabel(
  ctx: CanvasRenderingContext2D,
  title: string,
  sub: string,
  y: number,
  height: number,
) {
  ctx.fillStyle = "#f7f8fa";
  ctx.fillRect(0, y, GUTTER - 1, height - 1);
  ctx.fillStyle = "#d1d5db";
  ctx.fillRect(GUTTER - 1, y, 1, height);
  ctx.textBaseline = "middle";
  ctx.font = BOLD_FONT;
  ctx.fillStyle = "#111827";
  const twoLines = height >= 30;
  ctx.fillText(clipToWidth(ctx, title, GUTTER - 20), 12, twoLines ? y + 11 : y + height / 2);
  if (twoLines) {
    ctx.font = FONT;
    ctx.fillStyle = "#6b7280";
    ctx.fillText(clipToWidth(ctx, sub, GUTTER - 20), 12, y + 26);
  }
}

/** Where one level is being drawn: its scanline in the pixel buffer and the view's mapping. */
interface LevelPen {
  raster: PlotRaster;
  state: ViewState;
  cache: RenderCache;
  track: Track;
  /** Top of the level in CSS pixels. */
  y: number;
  /** Offset of the level's scanline in the buffer. */
  line: number;
  /** Device pixels per tick. */
  pxPerTick: number;
}

/**
 * Writes one depth level of a track into the pixel buffer (its top scanline, copied down) and
 * collects its labels and outlines; `y` is the level's top in CSS pixels.
 */
function drawLevel(
  raster: PlotRaster,
  state: ViewState,
  cache: RenderCache,
  track: Track,
  depth: number,
  y: number,
) {
  const level = track.levels[depth];
  if (!level) return;
  const { scale, search, pixelRatio } = state;
  const top = Math.round((y - TRACKS_TOP) * pixelRatio);
  const end = Math.min(raster.height, Math.round((y - TRACKS_TOP + LEVEL_HEIGHT - 1) * pixelRatio));
  const scan = Math.max(0, top);
  if (scan >= end) return;
  // Device pixels: slices narrower than one are merged into one pixel per column.
  const pxPerTick = scale.width * pixelRatio / (scale.end - scale.start);
  const pen = { raster, state, cache, track, y, line: scan * raster.width, pxPerTick };
  // Search highlights need each slice's name, which the summaries do not keep.
  const summary = search ? undefined : cache.lod.summary(track, depth, 1 / pxPerTick);
  if (summary) drawSummary(pen, summary);
  else drawSlices(pen, level);
  raster.copyDown(scan, end);
}

/** Draws a level slice by slice, jumping over runs of sub-pixel slices by binary search. */
function drawSlices(pen: LevelPen, level: Uint32Array) {
  const { track, state, line, pxPerTick } = pen;
  const { pixels, width } = pen.raster;
  const { start, dur, name } = track;
  const { scale, search } = state;
  const t0 = scale.start;
  const mask = search?.nameMask;
  let i = firstEndingAfter(track, level, t0);
  while (i < level.length) {
    const k = level[i];
    const s = start[k];
    if (s >= scale.end) break;
    const x0 = (s - t0) * pxPerTick;
    const x1 = (s + dur[k] - t0) * pxPerTick;
    const dim = mask !== undefined && mask[name[k]] === 0;
    if (x1 - x0 < 1) {
      const px = Math.floor(x0);
      let j = firstStartingAfterIndex(track, level, i + 1, t0 + (px + 1) / pxPerTick);
      const last = level[j - 1];
      if (j - 1 > i && (dur[last] * pxPerTick) >= 1) j--;
      if (px >= 0 && px < width) {
        pixels[line + px] = mask !== undefined && !dim ? MATCH_PIXEL : DENSE_PIXEL;
      }
      i = j;
      continue;
    }
    drawSlice(pen, k, dim);
    i++;
  }
}

/** Draws a level from its summary: occupied bins as dense pixels, then the slices a pixel wide. */
function drawSummary(pen: LevelPen, summary: LevelSummary) {
  const { track, state, line, pxPerTick } = pen;
  const { pixels, width } = pen.raster;
  const { scale } = state;
  const { binTicks, occupied, long } = summary;
  const t0 = scale.start;
  const firstBin = Math.max(0, Math.floor(t0 / binTicks));
  const lastBin = Math.min(occupied.length * 32 - 1, Math.floor(scale.end / binTicks));
  for (let word = firstBin >>> 5; word <= lastBin >>> 5; word++) {
    let bits = occupied[word];
    while (bits !== 0) {
      const low = bits & -bits;
      bits ^= low;
      const bin = word * 32 + 31 - Math.clz32(low);
      const px = Math.floor(((bin + 0.5) * binTicks - t0) * pxPerTick);
      if (px >= 0 && px < width) pixels[line + px] = DENSE_PIXEL;
    }
  }
  const { start, dur } = track;
  for (let i = firstEndingAfter(track, long, t0); i < long.length; i++) {
    const k = long[i];
    if (start[k] >= scale.end) break;
    if (dur[k] * pxPerTick >= 1) drawSlice(pen, k, false);
  }
}

/** Fills a slice at least a device pixel wide and collects its label and outlines. */
function drawSlice(pen: LevelPen, k: number, dim: boolean) {
  const { track, state, cache, y, line, pxPerTick } = pen;
  const { scale, search, selected, pixelRatio } = state;
  const { width, pixels } = pen.raster;
  const x0 = (track.start[k] - scale.start) * pxPerTick;
  const x1 = x0 + track.dur[k] * pxPerTick;
  const id = track.name[k];
  const from = Math.max(0, Math.round(x0));
  const to = Math.min(width, Math.round(x1));
  if (to > from) pixels.fill(cache.pixel(id, dim), line + from, line + to);
  const left = Math.max(x0 / pixelRatio, -2);
  const w = Math.min(x1 / pixelRatio, scale.width + 2) - left;
  const { overlays } = cache;
  if (track.flags[k] & FLAG_UNFINISHED) overlays.unfinished.push(left, y, w);
  if (search !== undefined && !dim) overlays.matches.push(left, y, w);
  if (selected && selected.track === track.index && selected.slice === k) {
    overlays.selection.push(left, y, w);
  }
  if (w > MIN_LABEL_WIDTH) overlays.labels.push(left, y, w, id, dim ? 1 : 0);
}

/** Draws what `drawLevel` collected over the pixel buffer, clipped to the plot area. */
function drawSliceOverlays(ctx: CanvasRenderingContext2D, state: ViewState, cache: RenderCache) {
  const { labels, unfinished, matches, selection } = cache.overlays;
  const h = LEVEL_HEIGHT - 1;
  ctx.save();
  ctx.beginPath();
  ctx.rect(GUTTER, TRACKS_TOP, state.width - GUTTER, state.height - TRACKS_TOP);
  ctx.clip();
  ctx.fillStyle = "#dc2626";
  for (let i = 0; i < unfinished.length; i += 3) {
    ctx.fillRect(GUTTER + unfinished[i], unfinished[i + 1] + h - 3, unfinished[i + 2], 3);
  }
  if (matches.length > 0) {
    ctx.strokeStyle = MATCH_COLOR;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let i = 0; i < matches.length; i += 3) {
      ctx.rect(GUTTER + matches[i] + 0.5, matches[i + 1] + 0.5, matches[i + 2] - 1, h - 1);
    }
    ctx.stroke();
  }
  ctx.strokeStyle = "#111827";
  ctx.lineWidth = 2;
  for (let i = 0; i < selection.length; i += 3) {
    ctx.strokeRect(GUTTER + selection[i] + 1, selection[i + 1] + 1, selection[i + 2] - 2, h - 2);
  }
  ctx.font = FONT;
  ctx.textBaseline = "middle";
  let style = "";
  for (let i = 0; i < labels.length; i += 5) {
    const color = labels[i + 4] ? "#9ca3af" : "#111827";
    if (color !== style) ctx.fillStyle = style = color;
    const text = fitText(ctx, cache, labels[i + 3], labels[i + 2] - 8);
    if (text) ctx.fillText(text, GUTTER + labels[i] + 4, labels[i + 1] + h / 2 + 1);
  }
  ctx.restore();
}

/** First index >= `from` in `level` starting at or after `t`: galloping, since it is usually near. */
function firstStartingAfterIndex(track: Track, level: Uint32Array, from: number, t: number) {
  const start = track.start;
  let lo = from;
  let step = 1;
  let hi = from;
  while (hi < level.length && start[level[hi]] < t) {
    lo = hi + 1;
    hi += step;
    step *= 2;
  }
  hi = Math.min(hi, level.length);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (start[level[mid]] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function fitText(ctx: CanvasRenderingContext2D, cache: RenderCache, id: number, room: number) {
  const text = cache.label(id);
  const full = cache.width(ctx, id);
  if (full <= room) return text;
  const chars = Math.floor(room / (full / text.length)) - 1;
  return chars >= 2 ? text.slice(0, chars) + "…" : "";
}

function drawInstants(ctx: CanvasRenderingContext2D, state: ViewState, rowOf: Map<number, Row>) {
  const { scale, model, scrollY } = state;
  ctx.fillStyle = "#7c3aed";
  for (const [trackIndex, t] of model.header.instants) {
    const row = rowOf.get(trackIndex);
    if (!row || t < scale.start || t > scale.end) continue;
    const x = GUTTER + scale.toPx(t);
    const y = TRACKS_TOP + row.y - scrollY + 1;
    ctx.beginPath();
    ctx.moveTo(x - 5, y);
    ctx.lineTo(x + 5, y);
    ctx.lineTo(x, y + 8);
    ctx.closePath();
    ctx.fill();
  }
}

function drawFlows(ctx: CanvasRenderingContext2D, state: ViewState, rowOf: Map<number, Row>) {
  const { scale, model, scrollY } = state;
  ctx.strokeStyle = "rgba(55, 65, 81, 0.8)";
  ctx.fillStyle = "rgba(55, 65, 81, 0.8)";
  ctx.lineWidth = 1.2;
  const pointOf = (step: [number, number]) => {
    const row = rowOf.get(step[0]);
    if (!row || row.kind !== "thread") return undefined;
    let depth = 0;
    for (let d = row.levels - 1; d > 0; d--) {
      if (sliceAt(row.track, d, step[1]) >= 0) {
        depth = d;
        break;
      }
    }
    return {
      x: GUTTER + scale.toPx(step[1]),
      y: TRACKS_TOP + levelY(row, depth) - scrollY + LEVEL_HEIGHT / 2,
    };
  };
  for (const flow of model.header.flows) {
    for (let i = 1; i < flow.steps.length; i++) {
      const a = flow.steps[i - 1];
      const b = flow.steps[i];
      if (b[1] < scale.start || a[1] > scale.end) continue;
      const from = pointOf(a);
      const to = pointOf(b);
      if (!from || !to) continue;
      ctx.beginPath();
      ctx.moveTo(from.x, from.y);
      const mid = (from.x + to.x) / 2;
      ctx.bezierCurveTo(mid, from.y, mid, to.y, to.x, to.y);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(to.x, to.y);
      ctx.lineTo(to.x - 6, to.y - 3);
      ctx.lineTo(to.x - 6, to.y + 3);
      ctx.closePath();
      ctx.fill();
    }
  }
}

function drawMinimap(ctx: CanvasRenderingContext2D, state: ViewState, cache: RenderCache) {
  const { width, scale, model, pixelRatio } = state;
  const size = {
    width: Math.round(width * pixelRatio),
    height: Math.round(MINIMAP_HEIGHT * pixelRatio),
  };
  const background = cache.minimap(`${size.width}x${size.height}`, size, (mini) => {
    mini.scale(pixelRatio, pixelRatio);
    drawMinimapBackground(mini, state);
  });
  ctx.drawImage(background, 0, 0, width, MINIMAP_HEIGHT);
  const plot = width - GUTTER;
  const total = Math.max(model.duration, 1);
  const x0 = GUTTER + scale.start / total * plot;
  const x1 = GUTTER + scale.end / total * plot;
  ctx.fillStyle = "rgba(17, 24, 39, 0.12)";
  ctx.fillRect(GUTTER, 0, Math.max(0, x0 - GUTTER), MINIMAP_HEIGHT);
  ctx.fillRect(x1, 0, Math.max(0, width - x1), MINIMAP_HEIGHT);
  ctx.strokeStyle = "#1d4ed8";
  ctx.lineWidth = 1;
  ctx.strokeRect(
    Math.max(GUTTER, x0) + 0.5,
    0.5,
    Math.max(2, Math.min(x1, width) - x0) - 1,
    MINIMAP_HEIGHT - 1,
  );
}

function drawMinimapBackground(ctx: OffscreenCanvasRenderingContext2D, state: ViewState) {
  const { width, overview, model } = state;
  ctx.fillStyle = "#f3f4f6";
  ctx.fillRect(0, 0, width, MINIMAP_HEIGHT);
  ctx.font = BOLD_FONT;
  ctx.fillStyle = "#374151";
  ctx.textBaseline = "middle";
  ctx.fillText("Overview", 12, 13);
  ctx.font = FONT;
  ctx.fillStyle = "#6b7280";
  ctx.fillText(formatDuration(model.duration * model.header.tickNs) + " total", 12, 29);
  const plot = width - GUTTER;
  ctx.fillStyle = "#60a5fa";
  const bins = overview.length;
  for (let x = 0; x < plot; x++) {
    const v = overview[Math.min(bins - 1, Math.floor(x / plot * bins))];
    if (v > 0) {
      const h = Math.max(1, v * (MINIMAP_HEIGHT - 6));
      ctx.fillRect(GUTTER + x, MINIMAP_HEIGHT - 3 - h, 1, h);
    }
  }
}

function drawAxis(ctx: CanvasRenderingContext2D, state: ViewState) {
  const { width, scale, model } = state;
  const y = MINIMAP_HEIGHT;
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, y, width, AXIS_HEIGHT);
  ctx.fillStyle = "#d1d5db";
  ctx.fillRect(0, y + AXIS_HEIGHT - 1, width, 1);
  ctx.font = FONT;
  ctx.textBaseline = "middle";
  ctx.fillStyle = "#374151";
  const span = formatDuration((scale.end - scale.start) * model.header.tickNs);
  ctx.fillText(`${span} visible`, 12, y + AXIS_HEIGHT / 2);
  ctx.save();
  ctx.beginPath();
  ctx.rect(GUTTER, y, width - GUTTER, AXIS_HEIGHT);
  ctx.clip();
  ctx.fillStyle = "#9ca3af";
  for (const tick of axisTicks(scale, model.header.tickNs)) {
    const x = Math.round(GUTTER + scale.toPx(tick.t));
    ctx.fillRect(x, y + AXIS_HEIGHT - 6, 1, 6);
    ctx.fillStyle = "#374151";
    ctx.fillText(tick.label, x + 3, y + AXIS_HEIGHT / 2 - 1);
    ctx.fillStyle = "#9ca3af";
  }
  if (state.range) {
    const x0 = GUTTER + scale.toPx(state.range.t0);
    const x1 = GUTTER + scale.toPx(state.range.t1);
    const label = formatDuration((state.range.t1 - state.range.t0) * model.header.tickNs);
    ctx.fillStyle = "rgba(37, 99, 235, 0.9)";
    const w = ctx.measureText(label).width + 10;
    const cx = Math.max(GUTTER, Math.min(width - w, (x0 + x1) / 2 - w / 2));
    ctx.fillRect(cx, y + 2, w, AXIS_HEIGHT - 4);
    ctx.fillStyle = "#ffffff";
    ctx.fillText(label, cx + 5, y + AXIS_HEIGHT / 2);
  }
  ctx.restore();
  ctx.fillStyle = "#d1d5db";
  ctx.fillRect(GUTTER - 1, 0, 1, TRACKS_TOP);
}

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

function clipToWidth(ctx: CanvasRenderingContext2D, text: string, room: number): string {
  if (ctx.measureText(text).width <= room) return text;
  let n = text.length;
  while (n > 1 && ctx.measureText(text.slice(0, n) + "…").width > room) n = Math.floor(n * 0.85);
  return text.slice(0, n) + "…";
}

function formatNumber(value: number): string {
  return Math.abs(value) >= 1e6 || (Math.abs(value) < 1e-3 && value !== 0)
    ? value.toExponential(2)
    : String(Math.round(value * 1000) / 1000);
}
