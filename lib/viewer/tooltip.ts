/**
 * The tooltip over the timeline: the name, duration, self time and thread of the slice under the
 * pointer; an instant's name, time and thread (an exception's type and message); a counter's
 * value at the pointer's time; and the pointer's shape.
 * @module
 */
import { threadLabel } from "./details.ts";
import { counterSampleAt, formatCounterValue } from "./counters.ts";
import { instantArgs, instantName, isException } from "./instants.ts";
import { bandOf } from "./layout.ts";
import type { Model } from "./model.ts";
import { GUTTER } from "./sizes.ts";
import { formatDuration } from "./time_scale.ts";
import { byId, el } from "./ui.ts";
import type { Hit } from "./view_controller.ts";
import type { ViewState } from "./view_state.ts";

/** Shows the tooltip for what is under canvas point (x, y), or hides it. */
export function showTooltip(
  canvas: HTMLCanvasElement,
  state: ViewState,
  hit: Hit | undefined,
  point: { x: number; y: number },
): void {
  const tip = byId("tooltip");
  const lines = hit && point.x >= GUTTER ? tooltipLines(state, hit, point.x) : undefined;
  if (!hit || !lines) {
    tip.hidden = true;
    canvas.style.cursor = hit?.row.kind === "process" || (hit && point.x < GUTTER)
      ? "pointer"
      : "default";
    return;
  }
  canvas.style.cursor = hit.row.kind === "counter" ? "crosshair" : "pointer";
  const [title, ...rest] = lines;
  tip.replaceChildren(el("b", title), ...rest.map((line) => el("span", line)));
  tip.hidden = false;
  const box = canvas.getBoundingClientRect();
  tip.style.left = `${Math.min(box.left + point.x + 14, innerWidth - 420)}px`;
  tip.style.top = `${box.top + point.y + 16}px`;
}

/** The tooltip's lines (the first is its title) for a hit at canvas x, or undefined for none. */
export function tooltipLines(state: ViewState, hit: Hit, x: number): string[] | undefined {
  const { model, scale } = state;
  const tickNs = model.header.tickNs;
  if (hit.row.kind === "counter") {
    const { series } = hit.row;
    const sample = counterSampleAt(series, scale.toTime(x - GUTTER));
    if (!sample) return [series.name, "no sample yet"];
    return [
      `${series.name} = ${formatCounterValue(sample.value)}`,
      `since ${formatDuration(sample.t * tickNs)}`,
    ];
  }
  if (hit.instant !== undefined && hit.instant >= 0) return instantLines(model, hit.instant);
  const band = bandOf(hit.row);
  if (hit.slice < 0 || !band) return undefined;
  const track = band.track;
  const k = hit.slice;
  return [
    model.strings[track.name[k]],
    `${formatDuration(track.dur[k] * tickNs)} · self ${formatDuration(track.self[k] * tickNs)} · ${
      threadLabel(track)
    }`,
  ];
}

/** An instant: its name, an exception's message (cut), its time and thread. */
function instantLines(model: Model, i: number): string[] {
  const [trackIndex, ticks] = model.header.instants[i];
  const track = model.tracks[trackIndex];
  const where = `${formatDuration(ticks * model.header.tickNs)} · ${threadLabel(track)}`;
  const args = instantArgs(model, i);
  if (!isException(model, i)) return [instantName(model, i), where];
  const fields = typeof args === "object" ? args : {};
  const type = typeof fields.type === "string" ? fields.type : instantName(model, i);
  const message = fields.message === undefined ? "" : String(fields.message);
  const cut = message.length > 200 ? `${message.slice(0, 200)}…` : message;
  return [
    `${type}${fields.reraised === true ? " (re-raised)" : ""}`,
    ...(cut ? [cut] : []),
    `exception · ${where}`,
  ];
}

/** Hides the tooltip (the pointer left the canvas). */
export function hideTooltip(): void {
  byId("tooltip").hidden = true;
}
