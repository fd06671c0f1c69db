/**
 * The panel's flame graph tab: the merged stacks (flame_graph.ts) of the whole trace or of the
 * selected range, for all processes, one process or one thread, drawn top-down on a canvas with
 * the heaviest stacks on the left; hovering a box names it.
 * @module
 */
import { namePixel } from "./colors.ts";
import { splitName } from "./details.ts";
import { flameDepth, flameGraph, type FlameNode } from "./flame_graph.ts";
import type { Model, Track } from "./model.ts";
import { unpackCss } from "./raster.ts";
import { FONT } from "./theme.ts";
import { formatDuration } from "./time_scale.ts";
import { el } from "./ui.ts";

const ROW = 17;

/** A scope of the flame graph: every track, one process (`pid`) or one thread (`pid/tid`). */
export type FlameScope = { pid?: string; tid?: string };

/** The tracks a scope takes. */
export function scopeFilter(scope: FlameScope): (track: Track) => boolean {
  return (track) =>
    (scope.pid === undefined || String(track.info.pid) === scope.pid) &&
    (scope.tid === undefined || String(track.info.tid) === scope.tid);
}

/** Fills `body` with the scope picker and the flame graph of `range` (the whole trace if none). */
export function showFlameGraph(
  body: HTMLElement,
  model: Model,
  range: { t0: number; t1: number } | undefined,
): void {
  const select = el("select");
  select.id = "flame-scope";
  select.append(el("option", "All processes"));
  for (const process of model.processes) {
    const option = el("option", `${process.info.name || "process"} (pid ${process.info.pid})`);
    option.value = JSON.stringify({ pid: String(process.info.pid) });
    select.append(option);
    for (const track of process.tracks) {
      const thread = el("option", `  ${track.info.name || "thread"} (tid ${track.info.tid})`);
      thread.value = JSON.stringify({ pid: String(track.info.pid), tid: String(track.info.tid) });
      select.append(thread);
    }
  }
  const tickNs = model.header.tickNs;
  const title = el(
    "h2",
    range
      ? `Flame graph of the range ${formatDuration(range.t0 * tickNs)} – ${
        formatDuration(range.t1 * tickNs)
      }`
      : "Flame graph of the whole trace",
  );
  const info = el("div", "Hover a box for its time", "flame-info");
  info.id = "flame-info";
  const canvas = el("canvas");
  canvas.id = "flame-canvas";
  const render = () => {
    const scope: FlameScope = select.selectedIndex > 0 ? JSON.parse(select.value) : {};
    const graph = flameGraph(model, range ?? { t0: -Infinity, t1: Infinity }, scopeFilter(scope));
    drawGraph(canvas, info, model, graph, Math.max(200, body.clientWidth - 40));
  };
  select.addEventListener("change", render);
  body.replaceChildren(select, title, info, canvas);
  render();
}

/** Draws `graph` top-down into `canvas` (`width` CSS pixels wide); hovering fills `info`. */
function drawGraph(
  canvas: HTMLCanvasElement,
  info: HTMLElement,
  model: Model,
  graph: FlameNode,
  width: number,
): void {
  const dpr = globalThis.devicePixelRatio || 1;
  const height = Math.max(1, flameDepth(graph)) * ROW;
  canvas.width = Math.floor(width * dpr);
  canvas.height = Math.floor(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d")!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, width, height);
  ctx.font = FONT;
  ctx.textBaseline = "middle";
  const boxes: { x: number; y: number; w: number; node: FlameNode }[] = [];
  const scale = graph.total > 0 ? width / graph.total : 0;
  const walk = (node: FlameNode, x: number, depth: number) => {
    for (const child of node.children) {
      const w = child.total * scale;
      if (w >= 0.5) {
        const y = depth * ROW;
        const name = model.strings[child.name];
        ctx.fillStyle = unpackCss(namePixel(name));
        ctx.fillRect(x, y, Math.max(0.5, w - 0.5), ROW - 1);
        const label = splitName(name).func;
        if (w > 30) {
          ctx.fillStyle = "#111827";
          ctx.fillText(fit(ctx, label, w - 6), x + 3, y + ROW / 2);
        }
        boxes.push({ x, y, w, node: child });
        walk(child, x, depth + 1);
      }
      x += w;
    }
  };
  walk(graph, 0, 0);
  const tickNs = model.header.tickNs;
  canvas.onmousemove = (event) => {
    const box = boxes.find((b) =>
      event.offsetX >= b.x && event.offsetX < b.x + b.w && event.offsetY >= b.y &&
      event.offsetY < b.y + ROW
    );
    info.textContent = box
      ? `${model.strings[box.node.name]} · total ${
        formatDuration(box.node.total * tickNs)
      } · self ${formatDuration(box.node.self * tickNs)} · ${
        box.node.calls.toLocaleString("en-US")
      } calls`
      : "Hover a box for its time";
  };
}

function fit(ctx: CanvasRenderingContext2D, text: string, room: number): string {
  if (ctx.measureText(text).width <= room) return text;
  let n = text.length;
  while (n > 1 && ctx.measureText(text.slice(0, n) + "…").width > room) n = Math.floor(n * 0.8);
  return n > 1 ? text.slice(0, n) + "…" : "";
}
