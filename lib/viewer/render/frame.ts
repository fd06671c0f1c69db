/**
 * Draws one frame of the timeline: the tracks (slices into the pixel buffer, then their overlays,
 * row headers, counters, instants, flows and the selected range), the minimap and the time axis.
 * Draws only what is visible: a frame costs O(visible pixels x levels) (see flame.ts). Coordinate
 * spaces: lib/viewer/sizes.ts.
 * @module
 */
import { bandOf, firstRowBelow, levelY, type Row } from "../layout.ts";
import { GUTTER, TRACKS_TOP } from "../sizes.ts";
import { COLORS, PIXELS } from "../theme.ts";
import { axisTicks } from "../time_scale.ts";
import type { ViewState } from "../view_state.ts";
import { drawAxis } from "./axis.ts";
import type { RenderCache } from "./cache.ts";
import { drawLevel, drawSliceOverlays } from "./flame.ts";
import { drawMinimap } from "./minimap.ts";
import {
  drawCompactGutter,
  drawCounterRow,
  drawFlows,
  drawInstants,
  drawProcessRow,
  drawThreadRow,
} from "./rows.ts";

/** Draws one frame. */
export function drawFrame(ctx: CanvasRenderingContext2D, state: ViewState, cache: RenderCache) {
  const { width, height } = state;
  // The plot area right of the gutter is wholly covered by the pixel buffer.
  ctx.fillStyle = COLORS.background;
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
  raster.reset(ctx.canvas.width - plotX, ctx.canvas.height - plotY, PIXELS.background);
  for (const tick of axisTicks(scale, state.model.header.tickNs)) {
    raster.column(Math.round(scale.toPx(tick.t) * pixelRatio), PIXELS.grid);
  }
  cache.lod.beginFrame();
  const { overlays } = cache;
  overlays.labels.length = overlays.unfinished.length = overlays.matches.length = 0;
  overlays.selection.length = 0;
  for (let r = first; r < layout.rows.length; r++) {
    const row = layout.rows[r];
    if (row.y >= bottom) break;
    const band = bandOf(row);
    if (!band) continue;
    for (let depth = 0; depth < band.levels; depth++) {
      drawLevel(raster, state, cache, band, depth, TRACKS_TOP + levelY(band, depth) - scrollY);
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
    const band = bandOf(row);
    if (band) rowOf.set(band.track.index, row);
    if (row.kind === "process") drawProcessRow(ctx, state, row, y);
    else if (row.kind === "counter") drawCounterRow(ctx, state, row, y);
    else drawThreadRow(ctx, state, row, y);
  }
  drawGutterImage(ctx, state, cache, first);
  drawInstants(ctx, state, rowOf);
  drawFlows(ctx, state);
  if (state.range) {
    const x0 = GUTTER + Math.max(0, scale.toPx(state.range.t0));
    const x1 = GUTTER + Math.min(scale.width, scale.toPx(state.range.t1));
    if (x1 > GUTTER && x0 < width) {
      ctx.fillStyle = COLORS.range;
      ctx.fillRect(x0, TRACKS_TOP, Math.max(1, x1 - x0), height - TRACKS_TOP);
      ctx.fillStyle = COLORS.rangeEdge;
      ctx.fillRect(x0, TRACKS_TOP, 1, height - TRACKS_TOP);
      ctx.fillRect(x1 - 1, TRACKS_TOP, 1, height - TRACKS_TOP);
    }
  }
}

/**
 * The gutter of the compact lanes and strips, from an image redrawn only when the layout, the
 * scroll, the size or the focus changes: zooming and panning leave it as it is.
 */
function drawGutterImage(
  ctx: CanvasRenderingContext2D,
  state: ViewState,
  cache: RenderCache,
  first: number,
) {
  const { layout, scrollY, height, pixelRatio, focus } = state;
  const room = height - TRACKS_TOP;
  const key = `${cache.layoutId(layout)}:${scrollY}:${room}:${pixelRatio}:${focus}`;
  const size = { width: Math.ceil(GUTTER * pixelRatio), height: Math.ceil(room * pixelRatio) };
  const image = cache.gutter(key, size, (gutter) => {
    gutter.setTransform(pixelRatio, 0, 0, pixelRatio, 0, 0);
    for (let r = first; r < layout.rows.length; r++) {
      const row = layout.rows[r];
      if (row.y >= scrollY + room) break;
      drawCompactGutter(gutter, state, row, row.y - scrollY);
    }
  });
  ctx.drawImage(image, 0, TRACKS_TOP, size.width / pixelRatio, size.height / pixelRatio);
}
