/**
 * The minimap strip: the whole trace's busy fraction per column (drawn once, cached) and the
 * visible window over it.
 * @module
 */
import { GUTTER, MINIMAP_HEIGHT } from "../sizes.ts";
import { BOLD_FONT, COLORS, FONT } from "../theme.ts";
import { formatDuration } from "../time_scale.ts";
import type { RenderCache } from "./cache.ts";
import type { ViewState } from "../view_state.ts";

export function drawMinimap(ctx: CanvasRenderingContext2D, state: ViewState, cache: RenderCache) {
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
  ctx.fillStyle = COLORS.minimapShade;
  ctx.fillRect(GUTTER, 0, Math.max(0, x0 - GUTTER), MINIMAP_HEIGHT);
  ctx.fillRect(x1, 0, Math.max(0, width - x1), MINIMAP_HEIGHT);
  ctx.strokeStyle = COLORS.minimapView;
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
  ctx.fillStyle = COLORS.minimapBackground;
  ctx.fillRect(0, 0, width, MINIMAP_HEIGHT);
  ctx.font = BOLD_FONT;
  ctx.fillStyle = COLORS.secondaryText;
  ctx.textBaseline = "middle";
  ctx.fillText("Overview", 12, 13);
  ctx.font = FONT;
  ctx.fillStyle = COLORS.mutedText;
  ctx.fillText(formatDuration(model.duration * model.header.tickNs) + " total", 12, 29);
  const plot = width - GUTTER;
  ctx.fillStyle = COLORS.minimapBusy;
  const bins = overview.length;
  for (let x = 0; x < plot; x++) {
    const v = overview[Math.min(bins - 1, Math.floor(x / plot * bins))];
    if (v > 0) {
      const h = Math.max(1, v * (MINIMAP_HEIGHT - 6));
      ctx.fillRect(GUTTER + x, MINIMAP_HEIGHT - 3 - h, 1, h);
    }
  }
}
