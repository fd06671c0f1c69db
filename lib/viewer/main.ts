/**
 * The report viewer's entry point: decodes the embedded data, wires the canvas, panel and input,
 * and redraws on requestAnimationFrame only when something changed.
 *
 * Contract with tests and benchmarks (tests/report_browser_test.ts, bench/report.ts):
 * - When the first complete frame is drawn, `<html data-ready="N">` is set, N = slices loaded
 *   (complete events, B/E pairs counted once). On a fatal problem `<html data-error="message">` is
 *   set and the message is shown in `#error`.
 * - DOM a user sees: `#search` (input; Enter = next match, Shift+Enter = previous),
 *   `#search-count` ("3 / 120" or "no match"), buttons `#prev-match`, `#next-match`, `#reset`,
 *   `#zoom-selection`, tabs `#tab-details`, `#tab-range`, `#tab-summary` (the summary has a
 *   process filter `#summary-process`; above 1.5 M slices it waits for a click on
 *   `#compute-summary`); the panel body
 *   `#panel-body` (details as `table.details` rows `th`/`td`; statistics as `table.stats`, header
 *   cells `th[data-sort]` sort on click); `#warnings` (hidden when none); `#timeline` (canvas).
 * - Keys (focus not in an input): W/S or Up/Down zoom, A/D or Left/Right pan (held: continuous),
 *   0 reset, F zoom to selection, Escape clear, / focus search, n/N next/previous match.
 *   Ctrl/Cmd+wheel zooms at the pointer, wheel scrolls tracks, Shift+wheel pans, drag pans,
 *   Shift+drag (or drag on the time axis) selects a range, drag on the minimap moves the view.
 * - `window.__tracer` (read-only hook, times in microseconds from the trace start):
 *   - `state()`: `{ slices, processes, tracks, view: { start, end }, scrollY, selected, range,
 *     search: { query, count, current } | null, frames }`; `selected` is
 *     `{ pid, tid, index, name } | null`; `frames` counts drawn frames.
 *   - `search(query)`: runs a search as typing would; returns the match count.
 *   - `select(pid, tid, index)`: selects slice `index` (start-time order within the thread) and
 *     shows its details; returns the details rows `[label, value][]`, or null if there is none.
 *   - `setView(start, end)`: shows [start, end].
 *   - `rangeStats(start, end)`: selects a range; returns its per-function statistics
 *     `{ name, count, total, self, average }[]` (microseconds), sorted by self time.
 *   - `frameTimes()`: milliseconds spent drawing each frame so far (clears the list).
 * @module
 */
import { sliceDetails, splitName, threadLabel } from "./details.ts";
import { attachInput, type Command, type Motion } from "./input.ts";
import {
  computeLayout,
  LEVEL_HEIGHT,
  levelY,
  processKey,
  rowAt,
  sliceAt,
  trackKey,
} from "./layout.ts";
import { decodeModel, inflateBase64, type Model, type Track } from "./model.ts";
import {
  drawFrame,
  GUTTER,
  overviewBins,
  RenderCache,
  TRACKS_TOP,
  type ViewState,
} from "./render.ts";
import { searchSlices, stepMatch } from "./search.ts";
import { rangeStats } from "./stats.ts";
import { formatDuration, TimeScale } from "./time_scale.ts";
import { byId, el, showDetails, showStats, showWarnings, warningLines } from "./ui.ts";

type Tab = "details" | "range" | "summary";

/** Above this many slices the summary is computed on request, not on load. */
const AUTO_SUMMARY_SLICES = 1_500_000;

class Viewer {
  readonly state: ViewState;
  readonly cache: RenderCache;
  readonly collapsed = new Set<string>();
  readonly ctx: CanvasRenderingContext2D;
  readonly tickUs: number;
  frames = 0;
  frameTimes: number[] = [];
  #dirty = false;
  #held: ReadonlySet<Motion> = new Set();
  #lastMotion = 0;
  #ready = false;
  #tab: Tab = "summary";

  constructor(readonly model: Model, readonly canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext("2d", { alpha: false })!;
    this.cache = new RenderCache(model);
    this.tickUs = model.header.tickNs / 1000;
    const scale = new TimeScale(0, Math.max(model.duration, 10), 800, Math.max(model.duration, 10));
    this.state = {
      model,
      layout: computeLayout(model, this.collapsed),
      scale,
      scrollY: 0,
      width: 800,
      height: 600,
      pixelRatio: 1,
      currentMatch: -1,
      overview: overviewBins(model, 2000),
    };
  }

  resize() {
    const rect = this.canvas.parentElement!.getBoundingClientRect();
    const dpr = globalThis.devicePixelRatio || 1;
    const width = Math.max(GUTTER + 100, Math.floor(rect.width));
    const height = Math.max(TRACKS_TOP + 50, Math.floor(rect.height));
    this.canvas.width = Math.floor(width * dpr);
    this.canvas.height = Math.floor(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const { scale } = this.state;
    this.state.width = width;
    this.state.height = height;
    this.state.pixelRatio = dpr;
    scale.width = width - GUTTER;
    this.clampScroll();
    // Resizing clears the canvas: paint now rather than show a blank frame until the next one.
    if (this.#ready) this.paint();
    else this.invalidate();
  }

  invalidate() {
    if (this.#dirty) return;
    this.#dirty = true;
    requestAnimationFrame((now) => this.frame(now));
  }

  frame(now: number) {
    this.#dirty = false;
    if (this.#held.size > 0) {
      const dt = Math.min(0.05, this.#lastMotion ? (now - this.#lastMotion) / 1000 : 1 / 60);
      this.#lastMotion = now;
      this.applyMotion(dt);
      this.invalidate();
    } else {
      this.#lastMotion = 0;
    }
    this.paint();
    if (!this.#ready) {
      this.#ready = true;
      document.documentElement.dataset.ready = String(this.model.slices);
      setTimeout(() => this.showSummary(this.model.slices <= AUTO_SUMMARY_SLICES), 0);
    }
  }

  paint() {
    const began = performance.now();
    drawFrame(this.ctx, this.state, this.cache);
    this.frameTimes.push(performance.now() - began);
    if (this.frameTimes.length > 10000) this.frameTimes.splice(0, 5000);
    this.frames++;
  }

  applyMotion(dt: number) {
    const { scale } = this.state;
    const held = this.#held;
    const center = this.pointerX ?? scale.width / 2;
    if (held.has("zoomIn")) scale.zoomAt(center, Math.exp(-dt * 3));
    if (held.has("zoomOut")) scale.zoomAt(center, Math.exp(dt * 3));
    if (held.has("panLeft")) scale.pan(-dt * scale.width * 1.2);
    if (held.has("panRight")) scale.pan(dt * scale.width * 1.2);
    if (held.has("scrollUp")) this.scroll(-dt * 1200);
    if (held.has("scrollDown")) this.scroll(dt * 1200);
  }

  pointerX: number | undefined;

  setMotion(held: ReadonlySet<Motion>) {
    this.#held = new Set(held);
    this.invalidate();
  }

  scroll(dy: number) {
    this.state.scrollY += dy;
    this.clampScroll();
    this.invalidate();
  }

  clampScroll() {
    const room = this.state.height - TRACKS_TOP;
    const max = Math.max(0, this.state.layout.height - room + 40);
    this.state.scrollY = Math.max(0, Math.min(max, this.state.scrollY));
  }

  relayout() {
    this.state.layout = computeLayout(this.model, this.collapsed);
    this.clampScroll();
    this.invalidate();
  }

  setView(start: number, end: number) {
    this.state.scale.set(start, end);
    this.invalidate();
  }

  /** The (track, slice) under canvas point (x, y), or the row kind hit. */
  hit(x: number, y: number) {
    if (y < TRACKS_TOP) return undefined;
    const row = rowAt(this.state.layout, y - TRACKS_TOP + this.state.scrollY);
    if (!row) return undefined;
    if (row.kind !== "thread" || x < GUTTER) return { row, slice: -1 };
    const depth = Math.floor((y - TRACKS_TOP + this.state.scrollY - levelY(row, 0)) / LEVEL_HEIGHT);
    if (depth < 0 || depth >= row.levels) return { row, slice: -1 };
    const { scale } = this.state;
    const t = scale.toTime(x - GUTTER);
    return { row, slice: sliceAt(row.track, depth, t, scale.perPixel * 0.5) };
  }

  click(x: number, y: number) {
    const hit = this.hit(x, y);
    if (!hit) return;
    const { row } = hit;
    if (row.kind === "process") {
      toggle(this.collapsed, processKey(row.process));
      this.relayout();
    } else if (row.kind === "thread" && x < GUTTER) {
      toggle(this.collapsed, trackKey(row.track));
      this.relayout();
    } else if (row.kind === "thread" && hit.slice >= 0) {
      this.select(row.track, hit.slice);
    } else {
      this.state.selected = undefined;
      this.invalidate();
    }
  }

  select(track: Track, k: number, reveal = false): [string, string][] {
    this.state.selected = { track: track.index, slice: k };
    const rows = sliceDetails(this.model, track, k);
    showDetails(byId("panel-body"), rows, splitName(this.model.strings[track.name[k]]).func);
    this.showTab("details", false);
    if (reveal) this.reveal(track, k);
    this.invalidate();
    return rows;
  }

  /** Scrolls and pans so slice k is visible (zooming out if it is wider than the view). */
  reveal(track: Track, k: number) {
    const { scale } = this.state;
    const s = track.start[k];
    const e = s + track.dur[k];
    if (s < scale.start || e > scale.end) {
      const span = Math.max(scale.end - scale.start, (e - s) * 1.5);
      this.setView(s + (e - s) / 2 - span / 2, s + (e - s) / 2 + span / 2);
    }
    const row = this.state.layout.rows.find((r) => r.kind === "thread" && r.track === track);
    if (row) {
      const y = levelY(row, track.depth[k]);
      const room = this.state.height - TRACKS_TOP;
      if (y < this.state.scrollY || y + LEVEL_HEIGHT > this.state.scrollY + room) {
        this.state.scrollY = y - room / 3;
        this.clampScroll();
      }
    }
  }

  setRange(t0: number, t1: number, showStatsNow: boolean) {
    if (t1 < t0) [t0, t1] = [t1, t0];
    this.state.range = { t0, t1 };
    if (showStatsNow) this.showRangeStats();
    this.invalidate();
  }

  showRangeStats() {
    const range = this.state.range;
    if (!range) return;
    showStats(byId("panel-body"), {
      title: `Range ${formatDuration(range.t0 * this.model.header.tickNs)} – ${
        formatDuration(range.t1 * this.model.header.tickNs)
      } (${formatDuration((range.t1 - range.t0) * this.model.header.tickNs)})`,
      rows: rangeStats(this.model, range),
      tickNs: this.model.header.tickNs,
    });
    this.showTab("range", false);
  }

  showSummary(compute = true) {
    const body = byId("panel-body");
    if (!compute) {
      // Whole-trace statistics of millions of slices block the page for a second or more.
      const button = el(
        "button",
        `Compute the summary of ${this.model.slices.toLocaleString("en-US")} slices`,
      );
      button.id = "compute-summary";
      button.addEventListener("click", () => this.showSummary());
      body.replaceChildren(el("h2", "Top functions by self time"), button);
      this.showTab("summary", false);
      return;
    }
    const select = el("select");
    select.id = "summary-process";
    select.append(el("option", "All processes"));
    for (const process of this.model.processes) {
      const option = el("option", `${process.info.name || "process"} (pid ${process.info.pid})`);
      option.value = String(process.info.pid);
      select.append(option);
    }
    const content = el("div");
    const render = () => {
      const pid = select.selectedIndex > 0 ? select.value : undefined;
      showStats(content, {
        title: "Top functions by self time, whole trace",
        rows: rangeStats(this.model, { t0: -Infinity, t1: Infinity }, {
          filter: pid === undefined ? undefined : (track) => String(track.info.pid) === pid,
        }),
        tickNs: this.model.header.tickNs,
      });
    };
    select.addEventListener("change", render);
    body.replaceChildren(select, content);
    render();
    this.showTab("summary", false);
  }

  showTab(tab: Tab, fill = true) {
    this.#tab = tab;
    for (const name of ["details", "range", "summary"] as Tab[]) {
      byId(`tab-${name}`).classList.toggle("active", name === tab);
    }
    if (!fill) return;
    if (tab === "summary") this.showSummary();
    else if (tab === "range") {
      if (this.state.range) this.showRangeStats();
      else showDetails(byId("panel-body"), [], "Shift+drag on the timeline to select a range");
    } else if (this.state.selected) {
      const { track, slice } = this.state.selected;
      this.select(this.model.tracks[track], slice);
    } else showDetails(byId("panel-body"), [], "Click a slice to see its details");
  }

  get tab(): Tab {
    return this.#tab;
  }

  search(query: string): number {
    const count = byId("search-count");
    if (!query) {
      this.state.search = undefined;
      this.state.currentMatch = -1;
      count.textContent = "";
      this.invalidate();
      return 0;
    }
    const result = searchSlices(this.model, query);
    this.state.search = result;
    this.state.currentMatch = -1;
    const n = result.slices.length;
    count.textContent = n === 0 ? "no match" : `${n.toLocaleString("en-US")} matches`;
    this.invalidate();
    return n;
  }

  stepMatch(step: 1 | -1) {
    const result = this.state.search;
    if (!result) return;
    const next = stepMatch(result, this.state.currentMatch, step);
    if (next < 0) return;
    this.state.currentMatch = next;
    const track = this.model.tracks[result.tracks[next]];
    this.select(track, result.slices[next], true);
    byId("search-count").textContent = `${next + 1} / ${
      result.slices.length.toLocaleString("en-US")
    }`;
  }

  command(command: Command) {
    const { scale } = this.state;
    switch (command) {
      case "reset":
        scale.reset();
        break;
      case "zoomToSelection": {
        const range = this.state.range;
        const selected = this.state.selected;
        if (range) this.setView(range.t0, range.t1);
        else if (selected) {
          const track = this.model.tracks[selected.track];
          const s = track.start[selected.slice];
          const d = Math.max(track.dur[selected.slice], 10);
          this.setView(s - d * 0.1, s + d * 1.1);
        }
        break;
      }
      case "clear":
        this.state.range = undefined;
        this.state.selected = undefined;
        break;
      case "focusSearch":
        byId<HTMLInputElement>("search").focus();
        break;
      case "nextMatch":
        this.stepMatch(1);
        break;
      case "prevMatch":
        this.stepMatch(-1);
        break;
    }
    this.invalidate();
  }

  hover(x: number, y: number) {
    this.pointerX = x >= GUTTER ? x - GUTTER : undefined;
    const tip = byId("tooltip");
    const hit = this.hit(x, y);
    if (!hit || hit.slice < 0 || hit.row.kind !== "thread") {
      tip.hidden = true;
      this.canvas.style.cursor = hit?.row.kind === "process" || (hit && x < GUTTER)
        ? "pointer"
        : "default";
      return;
    }
    const track = hit.row.track;
    const k = hit.slice;
    this.canvas.style.cursor = "pointer";
    tip.replaceChildren(
      el("b", this.model.strings[track.name[k]]),
      el(
        "span",
        `${formatDuration(track.dur[k] * this.model.header.tickNs)} · self ${
          formatDuration(track.self[k] * this.model.header.tickNs)
        } · ${threadLabel(track)}`,
      ),
    );
    tip.hidden = false;
    const box = this.canvas.getBoundingClientRect();
    tip.style.left = `${Math.min(box.left + x + 14, innerWidth - 420)}px`;
    tip.style.top = `${box.top + y + 16}px`;
  }

  hook() {
    const us = (ticks: number) => ticks * this.tickUs;
    const ticks = (us: number) => us / this.tickUs;
    const trackOf = (pid: number | string, tid: number | string) =>
      this.model.tracks.find((t) =>
        String(t.info.pid) === String(pid) && String(t.info.tid) === String(tid)
      );
    return Object.freeze({
      state: () => {
        const { scale, selected, range, search } = this.state;
        const track = selected ? this.model.tracks[selected.track] : undefined;
        return {
          slices: this.model.slices,
          processes: this.model.processes.length,
          tracks: this.model.tracks.length,
          view: { start: us(scale.start), end: us(scale.end) },
          scrollY: this.state.scrollY,
          selected: track && selected
            ? {
              pid: track.info.pid,
              tid: track.info.tid,
              index: selected.slice,
              name: this.model.strings[track.name[selected.slice]],
            }
            : null,
          range: range ? { start: us(range.t0), end: us(range.t1) } : null,
          search: search
            ? { query: search.query, count: search.slices.length, current: this.state.currentMatch }
            : null,
          frames: this.frames,
        };
      },
      search: (query: string) => {
        byId<HTMLInputElement>("search").value = query;
        return this.search(query);
      },
      select: (pid: number | string, tid: number | string, index: number) => {
        const track = trackOf(pid, tid);
        if (!track || !(index >= 0 && index < track.info.count)) return null;
        return this.select(track, index, true);
      },
      setView: (start: number, end: number) => this.setView(ticks(start), ticks(end)),
      rangeStats: (start: number, end: number) => {
        this.setRange(ticks(start), ticks(end), true);
        return rangeStats(this.model, this.state.range!).sort((a, b) => b.self - a.self).map((
          row,
        ) => ({
          name: row.name,
          count: row.count,
          total: us(row.total),
          self: us(row.self),
          average: us(row.average),
        }));
      },
      frameTimes: () => this.frameTimes.splice(0),
    });
  }
}

function toggle(set: Set<string>, key: string) {
  if (!set.delete(key)) set.add(key);
}

function fail(error: unknown) {
  const message = error instanceof Error ? error.message : String(error);
  document.documentElement.dataset.error = message;
  const box = document.getElementById("error");
  if (box) {
    box.textContent = `This report could not be opened: ${message}`;
    box.hidden = false;
  }
  console.error(error);
}

async function start() {
  const chunks = [...document.querySelectorAll("script.tracer-data")].map((node) =>
    node.textContent ?? ""
  );
  if (chunks.length === 0) throw new Error("the report holds no trace data");
  const bytes = await inflateBase64(chunks);
  performance.mark("tracer:inflated");
  const model = decodeModel(bytes);
  performance.mark("tracer:decoded");
  const canvas = byId<HTMLCanvasElement>("timeline");
  const viewer = new Viewer(model, canvas);
  const header = model.header;
  const argv = header.metadata?.argv;
  document.title = `tracer: ${
    Array.isArray(argv) ? argv.join(" ") : (model.processes[0]?.info.name || "report")
  }`;
  byId("summary").textContent = `${
    model.slices.toLocaleString("en-US")
  } slices · ${model.processes.length} process${
    model.processes.length === 1 ? "" : "es"
  } · ${model.tracks.length} thread${model.tracks.length === 1 ? "" : "s"} · ${
    formatDuration(model.duration * header.tickNs)
  }`;
  showWarnings(warningLines(header.warnings ?? [], {
    dropped: header.stats?.droppedEvents ?? 0,
    salvaged: header.stats?.salvagedFiles ?? 0,
    skipped: header.skipped ?? {},
  }));
  const search = byId<HTMLInputElement>("search");
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => viewer.search(search.value.trim()), 150);
  });
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      clearTimeout(searchTimer);
      if (viewer.state.search?.query !== search.value.trim()) viewer.search(search.value.trim());
      viewer.stepMatch(event.shiftKey ? -1 : 1);
    } else if (event.key === "Escape") search.blur();
  });
  byId("next-match").addEventListener("click", () => viewer.stepMatch(1));
  byId("prev-match").addEventListener("click", () => viewer.stepMatch(-1));
  byId("reset").addEventListener("click", () => viewer.command("reset"));
  byId("zoom-selection").addEventListener("click", () => viewer.command("zoomToSelection"));
  for (const tab of ["details", "range", "summary"] as Tab[]) {
    byId(`tab-${tab}`).addEventListener("click", () => viewer.showTab(tab));
  }
  attachInput(canvas, {
    motion: (held) => viewer.setMotion(held),
    command: (command) => viewer.command(command),
    zoomAt: (x, factor) => {
      viewer.state.scale.zoomAt(x - GUTTER, factor);
      viewer.invalidate();
    },
    pan: (dx) => {
      viewer.state.scale.pan(dx);
      viewer.invalidate();
    },
    scroll: (dy) => viewer.scroll(dy),
    centerAt: (x) => {
      const { scale } = viewer.state;
      const t = (x - GUTTER) / scale.width * model.duration;
      const span = scale.end - scale.start;
      viewer.setView(t - span / 2, t + span / 2);
    },
    range: (x0, x1, done) => {
      const { scale } = viewer.state;
      viewer.setRange(scale.toTime(x0 - GUTTER), scale.toTime(x1 - GUTTER), done);
    },
    click: (x, y) => viewer.click(x, y),
    hover: (x, y) => viewer.hover(x, y),
    leave: () => {
      byId("tooltip").hidden = true;
      viewer.pointerX = undefined;
    },
  });
  new ResizeObserver(() => viewer.resize()).observe(canvas.parentElement!);
  viewer.resize();
  (globalThis as unknown as { __tracer: unknown }).__tracer = viewer.hook();
}

start().catch(fail);
