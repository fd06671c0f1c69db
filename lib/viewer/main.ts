/**
 * The report viewer's entry point: decodes the embedded data, wires the canvas, input, panel,
 * search box and tooltip to the view controller (view_controller.ts), and redraws on
 * requestAnimationFrame only when something changed.
 *
 * Contract with tests and benchmarks (tests/report_browser_test.ts, bench/report.ts):
 * - When the first complete frame is drawn, `<html data-ready="N">` is set, N = slices loaded
 *   (complete events, B/E pairs counted once). On a fatal problem `<html data-error="message">` is
 *   set and the message is shown in `#error`.
 * - DOM a user sees: `#search` (input; Enter = next match, Shift+Enter = previous),
 *   `#search-count` ("3 / 120" or "no match"), buttons `#prev-match`, `#next-match`, `#reset`,
 *   `#zoom-selection`, `#expand-all`, `#collapse-all`, tabs `#tab-details`, `#tab-range`,
 *   `#tab-flame` (a flame graph `#flame-canvas` of the range or the whole trace, its scope picker
 *   `#flame-scope`, `#flame-info` naming the hovered box), `#tab-summary` (the summary has a
 *   process filter `#summary-process`; above 1.5 M slices it waits for a click on
 *   `#compute-summary`); the panel body
 *   `#panel-body` (details as `table.details` rows `th`/`td`; statistics as `table.stats`, header
 *   cells `th[data-sort]` sort on click); `#warnings` (hidden when none); `#timeline` (canvas).
 * - Keys (focus not in an input): W/S or Up/Down zoom, A/D or Left/Right pan (held: continuous),
 *   0 reset, F zoom to selection, Escape clear, / focus search, n/N next/previous match,
 *   j/k (or ]/[) next/previous process, e expand/collapse it, x all depth levels of it,
 *   Shift+E expand all, Shift+C collapse all. A click on a name expands or collapses its process
 *   or thread, on an activity strip expands its thread, near an arrow's end selects the other end,
 *   on an instant's marker (exceptions are red diamonds) selects the instant. Hovering a counter
 *   row shows its value at that time.
 *   Ctrl/Cmd+wheel zooms at the pointer, wheel scrolls tracks, Shift+wheel pans, drag pans,
 *   Shift+drag (or drag on the time axis) selects a range, drag on the minimap moves the view.
 * - `window.__tracer` (read-only hook, times in microseconds from the trace start):
 *   - `state()`: `{ slices, processes, tracks, view: { start, end }, scrollY, selected, instant,
 *     range, search: { query, count, current } | null, frames }`; `selected` is
 *     `{ pid, tid, index, name } | null`; `instant` the selected instant as `instants()` lists it
 *     (without `x`, `y`) or null; `frames` counts drawn frames.
 *   - `search(query)`: runs a search (slice and instant names) as typing would; returns the match
 *     count.
 *   - `select(pid, tid, index)`: selects slice `index` (start-time order within the thread) and
 *     shows its details; returns the details rows `[label, value][]`, or null if there is none.
 *     A call's arguments are the row `Arguments` (`name = value` lines), its return value the row
 *     `Return value`.
 *   - `instants()`: every instant, `{ index, pid, tid, ts, name, cat, args, x, y }[]` (`args`
 *     parsed, or null; `x`, `y` the viewport point of its marker's middle when drawn now, else
 *     null). `selectInstant(index)`: selects and reveals it, shows its details (an exception's
 *     `Type` and `Message`); returns the rows, or null if there is none.
 *   - `counters()`: the counter rows intersecting the track area now (a process's counters show
 *     while it is expanded), `{ pid, name, y, height, samples }[]`, `name` as `name key` (just
 *     `name` for a lone key `value`). `xAt(ts)`: the viewport x of a time.
 *   - `setView(start, end)`: shows [start, end].
 *   - `rangeStats(start, end)`: selects a range; returns its per-function statistics
 *     `{ name, count, total, self, average }[]` (microseconds), sorted by self time.
 *   - `frameTimes()`: milliseconds spent drawing each frame so far (clears the list).
 *   - `tracks()`: the lanes intersecting the track area now, in drawing order,
 *     `{ pid, tid, name, y, height, expanded, task }[]`: `tid` null for a process lane (a compact
 *     lane also lists its first thread, drawn in it, with the same box); `y`, `height` in CSS
 *     pixels from the viewport's top; `task` true for an asyncio task's row (lib/viewer/model.ts
 *     `isTaskTrack`).
 *   - `flows()`: every arrow, `{ kind, name, from, to }[]`, `kind` "launch", "task", "result"
 *     (or "flow" for other inputs' flows), `name` the launch kind (`fork`, `spawn`,
 *     `forkserver`, `subprocess`, `exec`), ends `{ pid, tid, index }` with `index` as `select`'s.
 *   - `expand(pid, tid?)`, `collapse(pid, tid?)`: one thread, or every thread of the process, as a
 *     flame chart or an activity strip; false if there is no such process or thread.
 *     `expandAll(flag)`: every thread.
 *   - `flameGraph(pid?, tid?)`: the merged stacks of the selected range (else the whole trace) of
 *     all tracks, a process or a thread: `{ name, total, self, calls, children }[]`, heaviest
 *     first, times in microseconds.
 * @module
 */
import { attachInput, type Command } from "./input.ts";
import { inflateBase64, type Model, type Track } from "./model.ts";
import { openModel } from "./open_model.ts";
import { Panel } from "./panel.ts";
import { RenderCache } from "./render/cache.ts";
import { drawFrame } from "./render/frame.ts";
import { GUTTER, TRACKS_TOP } from "./sizes.ts";
import { type HookedPage, testHook } from "./test_hook.ts";
import { formatDuration } from "./time_scale.ts";
import { hideTooltip, showTooltip } from "./tooltip.ts";
import { byId, showWarnings, warningLines } from "./ui.ts";
import { ViewController } from "./view_controller.ts";

/** Above this many slices the summary is computed on request, not on load. */
const AUTO_SUMMARY_SLICES = 1_500_000;
/** Typing pauses this long (ms) before a search runs. */
const SEARCH_DELAY_MS = 150;

/** The page: the canvas and its frame loop, the panel and the search box around the controller. */
class Page implements HookedPage {
  readonly view: ViewController;
  readonly panel: Panel;
  readonly cache: RenderCache;
  readonly ctx: CanvasRenderingContext2D;
  frames = 0;
  #frameTimes: number[] = [];
  #dirty = false;
  #lastMotion = 0;
  #ready = false;

  constructor(readonly model: Model, readonly canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext("2d", { alpha: false })!;
    this.cache = new RenderCache(model);
    this.view = new ViewController(model, () => this.invalidate());
    this.panel = new Panel(this.view);
  }

  /** Fits the canvas to its box, in device pixels. */
  resize(): void {
    const rect = this.canvas.parentElement!.getBoundingClientRect();
    const dpr = globalThis.devicePixelRatio || 1;
    const width = Math.max(GUTTER + 100, Math.floor(rect.width));
    const height = Math.max(TRACKS_TOP + 50, Math.floor(rect.height));
    this.canvas.width = Math.floor(width * dpr);
    this.canvas.height = Math.floor(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.view.resize(width, height, dpr);
    // Resizing clears the canvas: paint now rather than show a blank frame until the next one.
    if (this.#ready) this.#paint();
    else this.invalidate();
  }

  /** Asks for a frame. */
  invalidate(): void {
    if (this.#dirty) return;
    this.#dirty = true;
    requestAnimationFrame((now) => this.#frame(now));
  }

  takeFrameTimes(): number[] {
    return this.#frameTimes.splice(0);
  }

  search(query: string): number {
    byId<HTMLInputElement>("search").value = query;
    return this.#search(query);
  }

  select(track: Track, index: number): [string, string][] {
    this.view.select(track, index, true);
    return this.panel.showSlice(track, index);
  }

  selectInstant(index: number): [string, string][] {
    this.view.selectInstant(index, true);
    return this.panel.showInstant(index);
  }

  showRange(): void {
    this.panel.showRange();
  }

  canvasTop(): number {
    return this.canvas.getBoundingClientRect().top;
  }

  canvasLeft(): number {
    return this.canvas.getBoundingClientRect().left;
  }

  /** A key command: the view's own, or the search box's. */
  command(command: Command): void {
    if (command === "focusSearch") byId<HTMLInputElement>("search").focus();
    else if (command === "nextMatch") this.stepMatch(1);
    else if (command === "prevMatch") this.stepMatch(-1);
    else this.view.command(command);
  }

  /** Selects the next (1) or previous (-1) match and shows where it is in the count. */
  stepMatch(step: 1 | -1): void {
    const match = this.view.stepMatch(step);
    if (!match) return;
    if (match.kind === "instant") this.panel.showInstant(match.instant);
    else this.panel.showSlice(match.track, match.slice);
    const { currentMatch, search } = this.view.state;
    byId("search-count").textContent = `${currentMatch + 1} / ${
      search!.slices.length.toLocaleString("en-US")
    }`;
  }

  click(x: number, y: number): void {
    const outcome = this.view.click(x, y);
    if (outcome.kind === "selected" || (outcome.kind === "expanded" && outcome.slice >= 0)) {
      this.panel.showSlice(outcome.track, outcome.slice);
    } else if (outcome.kind === "instant") this.panel.showInstant(outcome.instant);
  }

  hover(x: number, y: number): void {
    this.view.pointerX = x >= GUTTER ? x - GUTTER : undefined;
    showTooltip(this.canvas, this.view.state, this.view.hit(x, y), { x, y });
  }

  /** Runs a search now and shows its count. */
  #search(query: string): number {
    const n = this.view.search(query);
    byId("search-count").textContent = !query
      ? ""
      : n === 0
      ? "no match"
      : `${n.toLocaleString("en-US")} matches`;
    return n;
  }

  /** Wires the search box: a search runs when typing pauses; Enter steps through the matches. */
  wireSearch(): void {
    const search = byId<HTMLInputElement>("search");
    let timer: ReturnType<typeof setTimeout> | undefined;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.#search(search.value.trim()), SEARCH_DELAY_MS);
    });
    search.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        clearTimeout(timer);
        const query = search.value.trim();
        if (this.view.state.search?.query !== query) this.#search(query);
        this.stepMatch(event.shiftKey ? -1 : 1);
      } else if (event.key === "Escape") search.blur();
    });
    byId("next-match").addEventListener("click", () => this.stepMatch(1));
    byId("prev-match").addEventListener("click", () => this.stepMatch(-1));
  }

  #frame(now: number): void {
    this.#dirty = false;
    if (this.view.moving) {
      const dt = Math.min(0.05, this.#lastMotion ? (now - this.#lastMotion) / 1000 : 1 / 60);
      this.#lastMotion = now;
      this.view.applyMotion(dt);
      this.invalidate();
    } else {
      this.#lastMotion = 0;
    }
    this.#paint();
    if (!this.#ready) {
      this.#ready = true;
      document.documentElement.dataset.ready = String(this.model.slices);
      setTimeout(() => this.panel.showSummary(this.model.slices <= AUTO_SUMMARY_SLICES), 0);
    }
  }

  #paint(): void {
    const began = performance.now();
    drawFrame(this.ctx, this.view.state, this.cache);
    this.#frameTimes.push(performance.now() - began);
    if (this.#frameTimes.length > 10000) this.#frameTimes.splice(0, 5000);
    this.frames++;
  }
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

/** The page title, the one-line summary and the warnings banner. */
function showHeader(model: Model): void {
  const header = model.header;
  const argv = header.metadata?.argv;
  document.title = `tracer: ${
    Array.isArray(argv) ? argv.join(" ") : (model.processes[0]?.info.name || "report")
  }`;
  const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;
  byId("summary").textContent = `${model.slices.toLocaleString("en-US")} slices · ${
    plural(model.processes.length, "process", "processes")
  } · ${plural(model.tracks.length, "thread")} · ${formatDuration(model.duration * header.tickNs)}`;
  showWarnings(warningLines(header.warnings ?? [], {
    dropped: header.stats?.droppedEvents ?? 0,
    salvaged: header.stats?.salvagedFiles ?? 0,
    skipped: header.skipped ?? {},
  }));
}

/** Canvas input to the page and its controller. */
function wireInput(page: Page): void {
  const { view } = page;
  byId("reset").addEventListener("click", () => page.command("reset"));
  byId("zoom-selection").addEventListener("click", () => page.command("zoomToSelection"));
  byId("expand-all").addEventListener("click", () => page.command("expandAll"));
  byId("collapse-all").addEventListener("click", () => page.command("collapseAll"));
  attachInput(page.canvas, {
    motion: (held) => view.setMotion(held),
    command: (command) => page.command(command),
    zoomAt: (x, factor) => view.zoomAt(x, factor),
    pan: (dx) => view.pan(dx),
    scroll: (dy) => view.scroll(dy),
    centerAt: (x) => view.centerAt(x),
    range: (x0, x1, done) => {
      const { scale } = view.state;
      view.setRange(scale.toTime(x0 - GUTTER), scale.toTime(x1 - GUTTER));
      if (done) page.showRange();
    },
    click: (x, y) => page.click(x, y),
    hover: (x, y) => page.hover(x, y),
    leave: () => {
      hideTooltip();
      view.pointerX = undefined;
    },
  });
}

async function start() {
  const chunks = [...document.querySelectorAll("script.tracer-data")].map((node) =>
    node.textContent ?? ""
  );
  if (chunks.length === 0) throw new Error("the report holds no trace data");
  const bytes = await inflateBase64(chunks);
  performance.mark("tracer:inflated");
  const model = openModel(bytes);
  performance.mark("tracer:decoded");
  const page = new Page(model, byId<HTMLCanvasElement>("timeline"));
  showHeader(model);
  page.wireSearch();
  wireInput(page);
  new ResizeObserver(() => page.resize()).observe(page.canvas.parentElement!);
  page.resize();
  (globalThis as unknown as { __tracer: unknown }).__tracer = testHook(page);
}

start().catch(fail);
