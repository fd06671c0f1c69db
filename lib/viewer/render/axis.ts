/**
 * The time axis strip under the minimap: the visible span, tick labels, and the selected range's
 * length.
 * @module
 */
import { AXIS_HEIGHT, GUTTER, MINIMAP_HEIGHT, TRACKS_TOP } from "../sizes.ts";
import { COLORS, FONT } from "../theme.ts";
import { axisTicks, formatDuration } from "../time_scale.ts";
import type { ViewState } from "../view_state.ts";

export function drawAxis(ctx: CanvasRenderingContext2D, state: ViewState) {
  const { width, scale, model } = state;
  const y = MINIMAP_HEIGHT;
  ctx.fillStyle = COLORS.background;
  ctx.fillRect(0, y, width, AXIS_HEIGHT);
  ctx.fillStyle = COLORS.rule;
  ctx.fillRect(0, y + AXIS_HEIGHT - 1, width, 1);
  ctx.font = FONT;
  ctx.textBaseline = "middle";
  ctx.fillStyle = COLORS.secondaryText;
  const span = formatDuration((scale.end - scale.start) * model.header.tickNs);
  ctx.fillText(`${span} visible`, 12, y + AXIS_HEIGHT / 2);
  ctx.save();
  ctx.beginPath();
  ctx.rect(GUTTER, y, width - GUTTER, AXIS_HEIGHT);
  ctx.clip();
  ctx.fillStyle = COLORS.faint;
  for (const tick of axisTicks(scale, model.header.tickNs)) {
    const x = Math.round(GUTTER + scale.toPx(tick.t));
    ctx.fillRect(x, y + AXIS_HEIGHT - 6, 1, 6);
    ctx.fillStyle = COLORS.secondaryText;
    ctx.fillText(tick.label, x + 3, y + AXIS_HEIGHT / 2 - 1);
    ctx.fillStyle = COLORS.faint;
  }
  if (state.range) {
    const x0 = GUTTER + scale.toPx(state.range.t0);
    const x1 = GUTTER + scale.toPx(state.range.t1);
    const label = formatDuration((state.range.t1 - state.range.t0) * model.header.tickNs);
    ctx.fillStyle = COLORS.rangeLabel;
    const w = ctx.measureText(label).width + 10;
    const cx = Math.max(GUTTER, Math.min(width - w, (x0 + x1) / 2 - w / 2));
    ctx.fillRect(cx, y + 2, w, AXIS_HEIGHT - 4);
    ctx.fillStyle = COLORS.background;
    ctx.fillText(label, cx + 5, y + AXIS_HEIGHT / 2);
  }
  ctx.restore();
  ctx.fillStyle = COLORS.rule;
  ctx.fillRect(GUTTER - 1, 0, 1, TRACKS_TOP);
}
