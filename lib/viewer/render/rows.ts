/**
 * The rows around the flame charts: process headers, counter plots, thread labels in the gutter,
 * instant markers and flow arrows.
 * @module
 */
import { placeArrows, type PlacedArrow } from "../arrow_geometry.ts";
import type { FlowKind } from "../../report_format.ts";
import { formatCounterValue } from "../counters.ts";
import {
  eachColumn,
  firstInstantAt,
  instantKinds,
  isException,
  MARKER_HALF_WIDTH,
  MARKER_HEIGHT,
} from "../instants.ts";
import type { Row } from "../layout.ts";
import { isTaskTrack, type ProcessModel } from "../model.ts";
import { FOOTER_HEIGHT, GUTTER, MAX_LEVELS, TRACKS_TOP } from "../sizes.ts";
import { BOLD_FONT, COLORS, FONT, MATCH_COLOR } from "../theme.ts";
import type { ViewState } from "../view_state.ts";

/** A canvas's 2D context, on the page or offscreen (the cached gutter image). */
export type Context2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

/** Indent of the gutter labels per level of the process tree. */
const TREE_INDENT = 10;
/** Further indent of an asyncio task's row under its event loop's thread. */
const TASK_INDENT = 14;
const SMALL_FONT = "11px system-ui, -apple-system, 'Segoe UI', sans-serif";

/** A process: a compact lane (name beside its first thread's strip) or a header over its threads. */
export function drawProcessRow(
  ctx: CanvasRenderingContext2D,
  state: ViewState,
  row: Extract<Row, { kind: "process" }>,
  y: number,
) {
  const { process } = row;
  const info = process.info;
  const indent = 8 + process.treeDepth * TREE_INDENT;
  const focused = state.model.processes[state.focus] === process;
  ctx.textBaseline = "middle";
  if (!row.expanded) {
    // Its gutter comes from the cached gutter image (drawCompactGutter).
    ctx.fillStyle = COLORS.processRule;
    ctx.fillRect(0, y, state.width, 1);
    return;
  }
  ctx.fillStyle = COLORS.processBackground;
  ctx.fillRect(0, y, state.width, row.height);
  ctx.fillStyle = COLORS.processRule;
  ctx.fillRect(0, y + row.height - 1, state.width, 1);
  drawTreeMark(ctx, process, indent, y, row.height);
  ctx.font = BOLD_FONT;
  ctx.fillStyle = COLORS.processTitle;
  const title = clip(`▾ ${info.name || "process"} (pid ${info.pid})`, 140);
  ctx.fillText(title, indent, y + row.height / 2);
  let x = indent + textWidth(ctx, title) + 14;
  ctx.font = FONT;
  const slices = process.tracks.reduce((sum, track) => sum + track.info.count, 0);
  const parts = [
    `${process.tracks.length} thread${process.tracks.length === 1 ? "" : "s"}`,
    `${slices.toLocaleString("en-US")} slices`,
  ];
  if (info.launch && info.parent !== undefined) {
    parts.unshift(`${info.launch} of pid ${info.parent}`);
  }
  if (info.labels) parts.push(info.labels);
  ctx.fillStyle = COLORS.processDetail;
  const detail = clip(parts.join(" · "), 160);
  ctx.fillText(detail, x, y + row.height / 2);
  x += textWidth(ctx, detail) + 14;
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
  if (focused) drawFocus(ctx, y, row.height);
}

/**
 * The gutter of a compact lane or an activity strip (its name, how it started, its pid or tid):
 * drawn into the cached gutter image, which changes only with the layout, the scroll and the focus
 * (text is costly to raster, and dozens of lanes are on screen).
 */
export function drawCompactGutter(ctx: Context2D, state: ViewState, row: Row, y: number) {
  if (row.kind === "counter" || row.expanded) return;
  ctx.textBaseline = "middle";
  if (row.kind === "thread") {
    const task = isTaskTrack(row.track);
    const indent = threadIndent(row);
    ctx.fillStyle = COLORS.gutter;
    ctx.fillRect(0, y, GUTTER - 1, row.height - 1);
    ctx.fillStyle = COLORS.rule;
    ctx.fillRect(GUTTER - 1, y, 1, row.height);
    if (task) drawTaskMark(ctx, indent, y, y + row.height / 2);
    ctx.font = SMALL_FONT;
    ctx.fillStyle = COLORS.secondaryText;
    const { name, tid } = row.track.info;
    // A task's tid is made up: its name says which task it is.
    const label = task ? `▸ ${name}` : `▸ ${name || "thread"} · ${tid}`;
    ctx.fillText(clipToWidth(ctx, label, GUTTER - indent - 4), indent, y + row.height / 2);
    return;
  }
  const { process } = row;
  const info = process.info;
  const indent = 8 + process.treeDepth * TREE_INDENT;
  ctx.fillStyle = COLORS.processBackground;
  ctx.fillRect(0, y + 1, GUTTER - 1, row.height - 1);
  drawTreeMark(ctx, process, indent, y, row.height);
  const sub = processSub(process);
  ctx.font = FONT;
  const subWidth = Math.min(textWidth(ctx, sub), 110);
  ctx.font = BOLD_FONT;
  ctx.fillStyle = COLORS.processTitle;
  const room = GUTTER - indent - subWidth - 14;
  const title = clipToWidth(ctx, `▸ ${info.name || "process"}`, room);
  ctx.fillText(title, indent, y + row.height / 2 + 1);
  const x = indent + textWidth(ctx, title) + 5;
  ctx.font = FONT;
  ctx.fillStyle = COLORS.mutedText;
  ctx.fillText(clipToWidth(ctx, sub, GUTTER - x - 4), x, y + row.height / 2 + 1);
  if (alerted(process)) {
    // Dropped events or an abnormal end: a red mark, the header says which when expanded.
    ctx.fillStyle = COLORS.alert;
    ctx.fillRect(GUTTER - 5, y + 3, 3, row.height - 6);
  }
  ctx.fillStyle = COLORS.rule;
  ctx.fillRect(GUTTER - 1, y, 1, row.height);
  if (state.model.processes[state.focus] === process) drawFocus(ctx, y, row.height);
}

/** The short line after a lane's name: its host (when there are several), launch and pid. */
function processSub(process: ProcessModel): string {
  const { host, launch, pid } = process.info;
  return [host, launch, pid].filter((part) => part !== undefined).join(" · ");
}

function alerted(process: ProcessModel): boolean {
  const info = process.info;
  return info.droppedEvents > 0 || info.ending !== undefined;
}

/** Where a thread row's label starts: under its process, further in for an asyncio task. */
function threadIndent(row: Extract<Row, { kind: "thread" }>): number {
  return 20 + row.process.treeDepth * TREE_INDENT + (isTaskTrack(row.track) ? TASK_INDENT : 0);
}

/** The elbow left of an asyncio task's name, from the row's top to the label's middle `lineY`. */
function drawTaskMark(ctx: Context2D, indent: number, y: number, lineY: number) {
  ctx.fillStyle = COLORS.tree;
  const x = indent - TASK_INDENT + 3;
  ctx.fillRect(x, y, 1, lineY - y);
  ctx.fillRect(x, lineY, TASK_INDENT - 6, 1);
}

/** The tree's elbow left of a child process's name. */
function drawTreeMark(
  ctx: Context2D,
  process: ProcessModel,
  indent: number,
  y: number,
  height: number,
) {
  if (process.treeDepth === 0) return;
  ctx.fillStyle = COLORS.tree;
  const x = indent - TREE_INDENT + 3;
  ctx.fillRect(x, y, 1, height / 2);
  ctx.fillRect(x, y + height / 2, TREE_INDENT - 5, 1);
}

function drawFocus(ctx: Context2D, y: number, height: number) {
  ctx.fillStyle = COLORS.focus;
  ctx.fillRect(0, y, 3, height);
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
  drawGutterLabel(ctx, row.series.name, `max ${formatCounterValue(max)}`, y, row.height, 12);
}

/** A thread: its name in the gutter beside its strip or flame chart, and a chart's footer. */
export function drawThreadRow(
  ctx: CanvasRenderingContext2D,
  state: ViewState,
  row: Extract<Row, { kind: "thread" }>,
  y: number,
) {
  const { track } = row;
  const indent = threadIndent(row);
  ctx.fillStyle = COLORS.threadRule;
  ctx.fillRect(0, y + row.height - 1, state.width, 1);
  const name = track.info.name || "thread";
  if (!row.expanded) return; // its gutter is in the cached gutter image (drawCompactGutter)
  const task = isTaskTrack(track);
  const height = Math.min(row.height, 40);
  const sub = task ? "asyncio task" : `tid ${track.info.tid}`;
  drawGutterLabel(ctx, `▾ ${name}`, sub, y, height, indent);
  if (task) drawTaskMark(ctx, indent, y, height >= 30 ? y + 11 : y + height / 2);
  if (!row.footer) return;
  const footerY = y + row.height - FOOTER_HEIGHT;
  ctx.fillStyle = COLORS.footer;
  ctx.fillRect(GUTTER, footerY, state.width - GUTTER, FOOTER_HEIGHT - 1);
  ctx.font = SMALL_FONT;
  ctx.fillStyle = COLORS.secondaryText;
  ctx.textBaseline = "middle";
  const label = row.hidden > 0
    ? `▾ ${row.hidden} deeper level${row.hidden === 1 ? "" : "s"} not shown: click (or x) to show`
    : `▴ show ${MAX_LEVELS} levels only: click (or x)`;
  ctx.fillText(label, GUTTER + 8, footerY + FOOTER_HEIGHT / 2);
}

function drawGutterLabel(
  ctx: CanvasRenderingContext2D,
  title: string,
  sub: string,
  y: number,
  height: number,
  indent: number,
) {
  ctx.fillStyle = COLORS.gutter;
  ctx.fillRect(0, y, GUTTER - 1, height - 1);
  ctx.fillStyle = COLORS.rule;
  ctx.fillRect(GUTTER - 1, y, 1, height);
  ctx.textBaseline = "middle";
  ctx.font = BOLD_FONT;
  ctx.fillStyle = COLORS.text;
  const twoLines = height >= 30;
  const room = GUTTER - indent - 8;
  ctx.fillText(clipToWidth(ctx, title, room), indent, twoLines ? y + 11 : y + height / 2);
  if (twoLines) {
    ctx.font = FONT;
    ctx.fillStyle = COLORS.mutedText;
    ctx.fillText(clipToWidth(ctx, sub, room), indent, y + 26);
  }
}

/**
 * The instants of the visible rows, as markers hanging from the top of their row at a fixed size
 * (visible at any zoom): exceptions as red diamonds over the other instants' triangles, one marker
 * of each kind per pixel column. Search matches are outlined; the selected instant also gets a
 * line down its row.
 */
export function drawInstants(
  ctx: CanvasRenderingContext2D,
  state: ViewState,
  rowOf: Map<number, Row>,
) {
  const { scale, model, scrollY, search, selectedInstant } = state;
  const instants = model.header.instants;
  const others: number[] = [];
  const exceptions: number[] = [];
  const matches: number[] = [];
  for (const [trackIndex, row] of rowOf) {
    const track = model.tracks[trackIndex];
    if (track.instants.length === 0) continue;
    const y = TRACKS_TOP + row.y - scrollY + 1;
    const kinds = instantKinds(model, track);
    eachColumn(model, kinds.others, scale, (_, px) => others.push(GUTTER + px, y));
    eachColumn(model, kinds.exceptions, scale, (_, px) => exceptions.push(GUTTER + px, y));
    if (!search) continue;
    const list = track.instants;
    for (let j = firstInstantAt(model, list, scale.start); j < list.length; j++) {
      const [, t, name] = instants[list[j]];
      if (t > scale.end) break;
      if (search.nameMask[name]) matches.push(GUTTER + Math.round(scale.toPx(t)), y);
    }
  }
  const selected = selectedInstant === undefined ? undefined : instants[selectedInstant];
  const selectedRow = selected && rowOf.get(selected[0]);
  const shown = selected && selectedRow && selected[1] >= scale.start && selected[1] <= scale.end;
  const exception = selectedInstant !== undefined && isException(model, selectedInstant);
  const x = shown ? GUTTER + Math.round(scale.toPx(selected[1])) : 0;
  const y = shown ? TRACKS_TOP + selectedRow.y - scrollY + 1 : 0;
  if (shown) {
    ctx.fillStyle = exception ? COLORS.exception : COLORS.instant;
    ctx.fillRect(x, y, 1, selectedRow.height - 2);
  }
  ctx.fillStyle = COLORS.instant;
  ctx.beginPath();
  for (let n = 0; n < others.length; n += 2) triangle(ctx, others[n], others[n + 1]);
  ctx.fill();
  if (exceptions.length > 0) {
    ctx.beginPath();
    for (let n = 0; n < exceptions.length; n += 2) diamond(ctx, exceptions[n], exceptions[n + 1]);
    ctx.lineWidth = 1;
    ctx.strokeStyle = COLORS.markerOutline;
    ctx.stroke();
    ctx.fillStyle = COLORS.exception;
    ctx.fill();
  }
  if (matches.length > 0) {
    ctx.beginPath();
    for (let n = 0; n < matches.length; n += 2) {
      const left = matches[n] - MARKER_HALF_WIDTH - 2;
      ctx.rect(left, matches[n + 1] - 1, 2 * MARKER_HALF_WIDTH + 4, MARKER_HEIGHT + 2);
    }
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = MATCH_COLOR;
    ctx.stroke();
  }
  if (shown) {
    ctx.beginPath();
    if (exception) diamond(ctx, x, y);
    else triangle(ctx, x, y);
    ctx.lineWidth = 2;
    ctx.strokeStyle = COLORS.selectedMarker;
    ctx.stroke();
  }
  ctx.lineWidth = 1;
}

/** An instant's marker: a triangle pointing down from `y`. */
function triangle(ctx: CanvasRenderingContext2D, x: number, y: number) {
  ctx.moveTo(x - MARKER_HALF_WIDTH, y);
  ctx.lineTo(x + MARKER_HALF_WIDTH, y);
  ctx.lineTo(x, y + MARKER_HEIGHT - 2);
  ctx.closePath();
}

/** An exception's marker: a diamond from `y` down. */
function diamond(ctx: CanvasRenderingContext2D, x: number, y: number) {
  const half = MARKER_HEIGHT / 2;
  ctx.moveTo(x, y);
  ctx.lineTo(x + MARKER_HALF_WIDTH, y + half);
  ctx.lineTo(x, y + MARKER_HEIGHT);
  ctx.lineTo(x - MARKER_HALF_WIDTH, y + half);
  ctx.closePath();
}

/**
 * The flow arrows: launches, tasks and results in their own colours, exec boundaries. One path
 * per kind for the curves and one for the heads: thousands of arrows cost a few canvas calls.
 */
export function drawFlows(ctx: CanvasRenderingContext2D, state: ViewState) {
  const byKind = new Map<FlowKind, PlacedArrow[]>();
  const { arrows, hidden } = placeArrows(state);
  if (hidden > 0) {
    ctx.font = FONT;
    ctx.textBaseline = "top";
    ctx.fillStyle = COLORS.mutedText;
    const note = `${hidden.toLocaleString("en-US")} task arrows hidden: zoom in or select a slice`;
    ctx.fillText(note, state.width - ctx.measureText(note).width - 10, TRACKS_TOP + 4);
  }
  for (const placed of arrows) {
    const list = byKind.get(placed.arrow.kind);
    if (list) list.push(placed);
    else byKind.set(placed.arrow.kind, [placed]);
  }
  ctx.lineWidth = 1;
  for (const [kind, arrows] of byKind) {
    const color = FLOW_COLORS[kind];
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.beginPath();
    for (const { from, to } of arrows) {
      const mid = (from.x + to.x) / 2;
      ctx.moveTo(from.x, from.y);
      ctx.bezierCurveTo(mid, from.y, mid, to.y, to.x, to.y);
    }
    ctx.stroke();
    ctx.beginPath();
    for (const { arrow, from, to } of arrows) {
      ctx.rect(from.x - 2, from.y - 2, 4, 4);
      const back = to.x >= from.x ? -1 : 1;
      ctx.moveTo(to.x, to.y);
      ctx.lineTo(to.x + back * 7, to.y - 3.5);
      ctx.lineTo(to.x + back * 7, to.y + 3.5);
      ctx.closePath();
      if (arrow.name === "exec" && arrow.from.track.info.pid === arrow.to.track.info.pid) {
        // An exec successor keeps its lane: mark the boundary across the lane.
        ctx.rect(to.x - 1, to.y - 8, 2, 16);
      }
    }
    ctx.fill();
  }
}

const FLOW_COLORS: Record<FlowKind, string> = {
  launch: COLORS.launchFlow,
  task: COLORS.taskFlow,
  result: COLORS.resultFlow,
  flow: COLORS.flow,
};

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

/**
 * Text widths by font and text: the gutter's labels are the same every frame, and measuring them
 * (dozens of lanes, several measures each) would cost milliseconds a frame.
 */
const widths = new Map<string, number>();

function textWidth(ctx: Context2D, text: string): number {
  const key = `${ctx.font}\u0000${text}`;
  let width = widths.get(key);
  if (width === undefined) {
    if (widths.size > 20_000) widths.clear();
    widths.set(key, width = ctx.measureText(text).width);
  }
  return width;
}

function clipToWidth(ctx: Context2D, text: string, room: number): string {
  if (textWidth(ctx, text) <= room) return text;
  let n = text.length;
  while (n > 1 && textWidth(ctx, text.slice(0, n) + "…") > room) n = Math.floor(n * 0.85);
  return text.slice(0, n) + "…";
}
