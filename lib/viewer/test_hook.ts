/**
 * `window.__tracer`, the read-only hook tests and benchmarks drive the page with (its contract is
 * in main.ts's module comment). Times are microseconds from the trace start.
 * @module
 */
import { type ArrowEnd, isTaskTrack, type Track } from "./model.ts";
import { GUTTER, TRACKS_TOP } from "./sizes.ts";
import { flameGraph, type FlameNode } from "./flame_graph.ts";
import { instantArgs, instantCategory, instantName, MARKER_HEIGHT } from "./instants.ts";
import { bandOf } from "./layout.ts";
import { scopeFilter } from "./flame_panel.ts";
import { rangeStats } from "./stats.ts";
import type { ViewController } from "./view_controller.ts";

/** What the hook reaches on the page. */
export interface HookedPage {
  readonly view: ViewController;
  /** Frames drawn so far. */
  readonly frames: number;
  /** Milliseconds spent on each frame since the last call. */
  takeFrameTimes(): number[];
  /** Searches as typing `query` in the search box would; returns the match count. */
  search(query: string): number;
  /** Selects and reveals a slice and shows its details; returns them. */
  select(track: Track, index: number): [string, string][];
  /** Selects and reveals an instant and shows its details; returns them. */
  selectInstant(index: number): [string, string][];
  /** Shows the statistics of the selected range. */
  showRange(): void;
  /** The canvas's top in CSS pixels from the top of the viewport. */
  canvasTop(): number;
  /** The canvas's left in CSS pixels from the left of the viewport. */
  canvasLeft(): number;
}

/** An arrow end as the hook reports it: the slice `index` as `select()` takes it. */
function endOf(end: ArrowEnd) {
  return { pid: end.track.info.pid, tid: end.track.info.tid, index: end.slice };
}

/**
 * The lanes intersecting the track area now: process rows (`tid` null; a compact lane also
 * reports its first thread, drawn in it) and thread rows, y and height in viewport CSS pixels.
 */
function lanes(view: ViewController, canvasTop: number) {
  const { layout, scrollY, height } = view.state;
  const lanes: {
    pid: number | string;
    tid: number | string | null;
    name: string;
    y: number;
    height: number;
    expanded: boolean;
    task: boolean;
  }[] = [];
  const top = scrollY;
  const bottom = scrollY + height - TRACKS_TOP;
  for (const row of layout.rows) {
    if (row.kind === "counter" || row.y + row.height <= top || row.y >= bottom) continue;
    const y = canvasTop + TRACKS_TOP + row.y - scrollY;
    const info = row.process.info;
    if (row.kind === "process") {
      lanes.push({
        pid: info.pid,
        tid: null,
        name: info.name,
        y,
        height: row.height,
        expanded: row.expanded,
        task: false,
      });
      const band = row.band;
      if (band) {
        const { tid, name } = band.track.info;
        const task = isTaskTrack(band.track);
        lanes.push({ pid: info.pid, tid, name, y, height: row.height, expanded: false, task });
      }
    } else {
      const { tid, name } = row.track.info;
      const { height, expanded } = row;
      lanes.push({ pid: info.pid, tid, name, y, height, expanded, task: isTaskTrack(row.track) });
    }
  }
  return lanes;
}

/** The counter rows intersecting the track area now (`lanes`' coordinates). */
function counterRows(view: ViewController, canvasTop: number) {
  const { layout, scrollY, height } = view.state;
  const rows: { pid: number | string; name: string; y: number; height: number; samples: number }[] =
    [];
  for (const row of layout.rows) {
    if (row.kind !== "counter" || row.y + row.height <= scrollY) continue;
    if (row.y >= scrollY + height - TRACKS_TOP) break;
    rows.push({
      pid: row.process.info.pid,
      name: row.series.name,
      y: canvasTop + TRACKS_TOP + row.y - scrollY,
      height: row.height,
      samples: row.series.points.length / 2,
    });
  }
  return rows;
}

/** The frozen hook object for `page`. */
export function testHook(page: HookedPage) {
  const { view } = page;
  const { model } = view;
  const tickUs = model.header.tickNs / 1000;
  const us = (ticks: number) => ticks * tickUs;
  const ticks = (us: number) => us / tickUs;
  const trackOf = (pid: number | string, tid: number | string) =>
    model.tracks.find((t) =>
      String(t.info.pid) === String(pid) && String(t.info.tid) === String(tid)
    );
  return Object.freeze({
    state: () => {
      const { scale, selected, range, search, scrollY, currentMatch } = view.state;
      const track = selected ? model.tracks[selected.track] : undefined;
      const instant = view.state.selectedInstant;
      return {
        slices: model.slices,
        processes: model.processes.length,
        tracks: model.tracks.length,
        view: { start: us(scale.start), end: us(scale.end) },
        scrollY,
        selected: track && selected
          ? {
            pid: track.info.pid,
            tid: track.info.tid,
            index: selected.slice,
            name: model.strings[track.name[selected.slice]],
          }
          : null,
        instant: instant === undefined ? null : describeInstant(instant, false),
        range: range ? { start: us(range.t0), end: us(range.t1) } : null,
        search: search
          ? { query: search.query, count: search.slices.length, current: currentMatch }
          : null,
        frames: page.frames,
      };
    },
    search: (query: string) => page.search(query),
    select: (pid: number | string, tid: number | string, index: number) => {
      const track = trackOf(pid, tid);
      if (!track || !(index >= 0 && index < track.info.count)) return null;
      return page.select(track, index);
    },
    selectInstant: (index: number) =>
      index >= 0 && index < model.header.instants.length ? page.selectInstant(index) : null,
    instants: () => model.header.instants.map((_, i) => describeInstant(i, true)),
    counters: () => counterRows(view, page.canvasTop()),
    xAt: (time: number) => page.canvasLeft() + GUTTER + view.state.scale.toPx(ticks(time)),
    setView: (start: number, end: number) => view.setView(ticks(start), ticks(end)),
    rangeStats: (start: number, end: number) => {
      view.setRange(ticks(start), ticks(end));
      page.showRange();
      return rangeStats(model, view.state.range!).sort((a, b) => b.self - a.self).map((row) => ({
        name: row.name,
        count: row.count,
        total: us(row.total),
        self: us(row.self),
        average: us(row.average),
      }));
    },
    frameTimes: () => page.takeFrameTimes(),
    tracks: () => lanes(view, page.canvasTop()),
    flows: () =>
      model.arrows.map((arrow) => ({
        kind: arrow.kind,
        name: arrow.name,
        from: endOf(arrow.from),
        to: endOf(arrow.to),
      })),
    expand: (pid: number | string, tid?: number | string) => unfold(pid, tid, true),
    collapse: (pid: number | string, tid?: number | string) => unfold(pid, tid, false),
    expandAll: (flag = true) => view.expandAll(flag !== false),
    flameGraph: (pid?: number | string, tid?: number | string) => {
      const scope = {
        pid: pid === undefined || pid === null ? undefined : String(pid),
        tid: tid === undefined || tid === null ? undefined : String(tid),
      };
      const range = view.state.range ?? { t0: -Infinity, t1: Infinity };
      const describe = (node: FlameNode): unknown => ({
        name: model.strings[node.name] ?? "",
        total: us(node.total),
        self: us(node.self),
        calls: node.calls,
        children: node.children.map(describe),
      });
      return (describe(flameGraph(model, range, scopeFilter(scope))) as { children: unknown[] })
        .children;
    },
  });

  /**
   * Instant `i` as the hook reports it; `where` adds the viewport point (x, y) of its marker's
   * middle when it is drawn now, else nulls.
   */
  function describeInstant(i: number, where: boolean) {
    const [trackIndex, t] = model.header.instants[i];
    const track = model.tracks[trackIndex];
    const described = {
      index: i,
      pid: track.info.pid,
      tid: track.info.tid,
      ts: us(t),
      name: instantName(model, i),
      cat: instantCategory(model, i),
      args: instantArgs(model, i) ?? null,
    };
    if (!where) return described;
    const { layout, scale, scrollY, height } = view.state;
    const row = layout.rows.find((r) => bandOf(r)?.track === track);
    const top = row ? row.y - scrollY : -1;
    const visible = row !== undefined && top >= 0 && top + MARKER_HEIGHT <= height - TRACKS_TOP &&
      t >= scale.start && t <= scale.end;
    return {
      ...described,
      x: visible ? page.canvasLeft() + GUTTER + Math.round(scale.toPx(t)) : null,
      y: visible ? page.canvasTop() + TRACKS_TOP + top + 1 + MARKER_HEIGHT / 2 : null,
    };
  }

  function unfold(pid: number | string, tid: number | string | undefined, expand: boolean) {
    const process = model.processes.find((p) => String(p.info.pid) === String(pid));
    if (!process) return false;
    const track = tid === undefined || tid === null ? undefined : trackOf(pid, tid);
    if (tid !== undefined && tid !== null && !track) return false;
    view.setExpanded(process, track, expand);
    return true;
  }
}
