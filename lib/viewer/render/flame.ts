/**
 * The flame charts: each depth level of a thread written into the pixel buffer (raster.ts) as one
 * scanline copied down, slices narrower than a device pixel merged per column by jumping over them
 * with a galloping search, or drawn from the level-of-detail summary (lod.ts) when zoomed out; the
 * labels and outlines collected on the way are drawn over the buffer afterwards.
 * @module
 */
import { FLAG_UNFINISHED } from "../../report_format.ts";
import { firstEndingAfter, firstStartingAt, type SliceBand } from "../layout.ts";
import { type LevelSummary, STRIP_SLICES_PER_BIN } from "../lod.ts";
import type { Track } from "../model.ts";
import type { PlotRaster } from "../raster.ts";
import { GUTTER, LEVEL_HEIGHT, MIN_LABEL_WIDTH, TRACKS_TOP } from "../sizes.ts";
import { COLORS, FONT, MATCH_COLOR, PIXELS } from "../theme.ts";
import type { RenderCache } from "./cache.ts";
import type { ViewState } from "../view_state.ts";

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
  /** A flame chart level (labels and outlines), not an activity strip's. */
  chart: boolean;
}

/**
 * Writes one depth level of a band into the pixel buffer (its top scanline, copied down) and, in a
 * flame chart, collects its labels and outlines; `y` is the level's top in canvas CSS pixels.
 */
export function drawLevel(
  raster: PlotRaster,
  state: ViewState,
  cache: RenderCache,
  band: SliceBand,
  depth: number,
  y: number,
) {
  const { track, chart } = band;
  const level = track.levels[depth];
  if (!level) return;
  const { scale, search, pixelRatio } = state;
  const top = Math.round((y - TRACKS_TOP) * pixelRatio);
  // A flame chart's levels are a pixel apart; a strip's touch.
  const height = chart ? band.levelHeight - 1 : band.levelHeight;
  const end = Math.min(raster.height, Math.round((y - TRACKS_TOP + height) * pixelRatio));
  const scan = Math.max(0, top);
  if (scan >= end) return;
  // Device pixels: slices narrower than one are merged into one pixel per column.
  const pxPerTick = scale.width * pixelRatio / (scale.end - scale.start);
  const pen = { raster, state, cache, track, y, line: scan * raster.width, pxPerTick, chart };
  // Search highlights need each slice's name, which the summaries do not keep.
  const perBin = chart ? undefined : STRIP_SLICES_PER_BIN;
  const summary = search ? undefined : cache.lod.summary(track, depth, 1 / pxPerTick, perBin);
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
      let j = firstStartingAt(track, level, t0 + (px + 1) / pxPerTick, i + 1);
      const last = level[j - 1];
      if (j - 1 > i && (dur[last] * pxPerTick) >= 1) j--;
      if (px >= 0 && px < width) {
        pixels[line + px] = mask !== undefined && !dim ? PIXELS.match : PIXELS.dense;
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
      if (px >= 0 && px < width) pixels[line + px] = PIXELS.dense;
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
  if (!pen.chart) return;
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
export function drawSliceOverlays(
  ctx: CanvasRenderingContext2D,
  state: ViewState,
  cache: RenderCache,
) {
  const { labels, unfinished, matches, selection } = cache.overlays;
  const h = LEVEL_HEIGHT - 1;
  ctx.save();
  ctx.beginPath();
  ctx.rect(GUTTER, TRACKS_TOP, state.width - GUTTER, state.height - TRACKS_TOP);
  ctx.clip();
  ctx.fillStyle = COLORS.unfinished;
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
  ctx.strokeStyle = COLORS.text;
  ctx.lineWidth = 2;
  for (let i = 0; i < selection.length; i += 3) {
    ctx.strokeRect(GUTTER + selection[i] + 1, selection[i + 1] + 1, selection[i + 2] - 2, h - 2);
  }
  ctx.font = FONT;
  ctx.textBaseline = "middle";
  let style = "";
  for (let i = 0; i < labels.length; i += 5) {
    const color = labels[i + 4] ? COLORS.faint : COLORS.text;
    if (color !== style) ctx.fillStyle = style = color;
    const text = fitText(ctx, cache, labels[i + 3], labels[i + 2] - 8);
    if (text) ctx.fillText(text, GUTTER + labels[i] + 4, labels[i + 1] + h / 2 + 1);
  }
  ctx.restore();
}

function fitText(ctx: CanvasRenderingContext2D, cache: RenderCache, id: number, room: number) {
  const text = cache.label(id);
  const full = cache.width(ctx, id);
  if (full <= room) return text;
  const chars = Math.floor(room / (full / text.length)) - 1;
  return chars >= 2 ? text.slice(0, chars) + "…" : "";
}
