/**
 * The rows around the flame charts: process headers, counter plots, thread labels in the gutter,
 * instant markers and flow arrows.
 * @module
 */
import { levelY, type Row, sliceAt } from "../layout.ts";
import { GUTTER, LEVEL_HEIGHT, TRACKS_TOP } from "../sizes.ts";
import { BOLD_FONT, COLORS, FONT } from "../theme.ts";
import type { ViewState } from "../view_state.ts";

export function drawProcessRow(
  ctx: CanvasRenderingContext2D,
  state: ViewState,
  row: Extract<Row, { kind: "process" }>,
  y: number,
) {
  const { process } = row;
  ctx.fillStyle = COLORS.processBackground;
  ctx.fillRect(0, y, state.width, row.height);
  ctx.fillStyle = COLORS.processRule;
  ctx.fillRect(0, y + row.height - 1, state.width, 1);
  ctx.font = BOLD_FONT;
  ctx.textBaseline = "middle";
  ctx.fillStyle = COLORS.processTitle;
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
  ctx.fillStyle = COLORS.processDetail;
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
    ctx.fillStyle = COLORS.alert;
    ctx.fillText(alerts.join(" · "), x, y + row.height / 2);
  }
}

export function drawCounterRow(
  ctx: CanvasRenderingContext2D,
  state: ViewState,
  row: Extract<Row, { kind: "counter" }>,
  y: number,
) {
  const { scale } = state;
  const points = row.series.points;
  let max = 0;
  for (let i = 1; i < points.length; i += 2) max = Math.max(max, points[i]);
  ctx.fillStyle = COLORS.counterBackground;
  ctx.fillRect(GUTTER, y, state.width - GUTTER, row.height);
  ctx.fillStyle = COLORS.counterFill;
  ctx.strokeStyle = COLORS.counterLine;
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

export function drawThreadRow(
  ctx: CanvasRenderingContext2D,
  state: ViewState,
  row: Extract<Row, { kind: "thread" }>,
  y: number,
) {
  const { track } = row;
  ctx.fillStyle = COLORS.threadRule;
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
  ctx.fillStyle = COLORS.gutter;
  ctx.fillRect(0, y, GUTTER - 1, height - 1);
  ctx.fillStyle = COLORS.rule;
  ctx.fillRect(GUTTER - 1, y, 1, height);
  ctx.textBaseline = "middle";
  ctx.font = BOLD_FONT;
  ctx.fillStyle = COLORS.text;
  const twoLines = height >= 30;
  ctx.fillText(clipToWidth(ctx, title, GUTTER - 20), 12, twoLines ? y + 11 : y + height / 2);
  if (twoLines) {
    ctx.font = FONT;
    ctx.fillStyle = COLORS.mutedText;
    ctx.fillText(clipToWidth(ctx, sub, GUTTER - 20), 12, y + 26);
  }
}

export function drawInstants(
  ctx: CanvasRenderingContext2D,
  state: ViewState,
  rowOf: Map<number, Row>,
) {
  const { scale, model, scrollY } = state;
  ctx.fillStyle = COLORS.instant;
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

export function drawFlows(
  ctx: CanvasRenderingContext2D,
  state: ViewState,
  rowOf: Map<number, Row>,
) {
  const { scale, model, scrollY } = state;
  ctx.strokeStyle = COLORS.flow;
  ctx.fillStyle = COLORS.flow;
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
