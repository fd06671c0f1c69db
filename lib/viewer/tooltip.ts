/**
 * The tooltip over the timeline: the name, duration, self time and thread of the slice under the
 * pointer, and the pointer's shape.
 * @module
 */
import { threadLabel } from "./details.ts";
import { bandOf } from "./layout.ts";
import type { Model } from "./model.ts";
import { GUTTER } from "./sizes.ts";
import { formatDuration } from "./time_scale.ts";
import { byId, el } from "./ui.ts";
import type { Hit } from "./view_controller.ts";

/** Shows the tooltip for what is under canvas point (x, y), or hides it. */
export function showTooltip(
  canvas: HTMLCanvasElement,
  model: Model,
  hit: Hit | undefined,
  point: { x: number; y: number },
): void {
  const tip = byId("tooltip");
  const band = hit && bandOf(hit.row);
  if (!hit || hit.slice < 0 || !band) {
    tip.hidden = true;
    canvas.style.cursor = hit?.row.kind === "process" || (hit && point.x < GUTTER)
      ? "pointer"
      : "default";
    return;
  }
  const track = band.track;
  const k = hit.slice;
  const tickNs = model.header.tickNs;
  canvas.style.cursor = "pointer";
  tip.replaceChildren(
    el("b", model.strings[track.name[k]]),
    el(
      "span",
      `${formatDuration(track.dur[k] * tickNs)} · self ${
        formatDuration(track.self[k] * tickNs)
      } · ${threadLabel(track)}`,
    ),
  );
  tip.hidden = false;
  const box = canvas.getBoundingClientRect();
  tip.style.left = `${Math.min(box.left + point.x + 14, innerWidth - 420)}px`;
  tip.style.top = `${box.top + point.y + 16}px`;
}

/** Hides the tooltip (the pointer left the canvas). */
export function hideTooltip(): void {
  byId("tooltip").hidden = true;
}
