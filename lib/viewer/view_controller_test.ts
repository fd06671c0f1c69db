import { deepEqual as assertEquals, equal as assertEqual, ok as assert } from "node:assert/strict";
import { modelFromEvents, slice } from "../report/testing.ts";
import { placeArrows } from "./arrow_geometry.ts";
import { levelY } from "./layout.ts";
import { GUTTER, LEVEL_HEIGHT, TRACKS_TOP } from "./sizes.ts";
import { tooltipLines } from "./tooltip.ts";
import { ViewController } from "./view_controller.ts";

function controller() {
  const model = modelFromEvents([
    slice("main", 0, 1000, { pid: 1, tid: 1 }),
    slice("work", 100, 200, { pid: 1, tid: 1 }),
    slice("work", 600, 100, { pid: 1, tid: 1 }),
    slice("other", 0, 500, { pid: 2, tid: 2 }),
  ]);
  let changes = 0;
  const view = new ViewController(model, () => changes++);
  view.resize(GUTTER + 1000, 600, 1);
  view.setView(0, model.duration);
  view.expandAll(true);
  return { view, model, changes: () => changes };
}

/** Canvas point of the middle of slice `k` of the first thread. */
function pointOf(view: ViewController, k: number) {
  const { layout, scale } = view.state;
  const row = layout.rows.find((r) => r.kind === "thread")!;
  if (row.kind !== "thread") throw new Error("no thread row");
  const track = row.track;
  const t = track.start[k] + track.dur[k] / 2;
  return {
    x: GUTTER + scale.toPx(t),
    y: TRACKS_TOP + levelY(row.band, track.depth[k]) + LEVEL_HEIGHT / 2 - view.state.scrollY,
    track,
  };
}

Deno.test("view controller: a click selects the slice under the pointer, elsewhere clears", () => {
  const { view } = controller();
  const { x, y, track } = pointOf(view, 1);
  const hit = view.hit(x, y);
  assertEqual(hit?.slice, 1);
  assertEquals(view.click(x, y), { kind: "selected", track, slice: 1 });
  assertEquals(view.state.selected, { track: track.index, slice: 1 });
  assertEquals(view.click(x, TRACKS_TOP + 2000), { kind: "nothing" });
  assertEqual(view.hit(x, TRACKS_TOP - 1), undefined, "the axis is not a row");
});

Deno.test("view controller: a process header collapses it; a click on its strip expands it", () => {
  const { view, changes, model } = controller();
  const before = view.state.layout.height;
  const header = view.state.layout.rows.find((row) => row.kind === "process")!;
  const seen = changes();
  assertEquals(view.click(GUTTER + 10, TRACKS_TOP + header.y + 2), { kind: "folded" });
  assert(view.state.layout.height < before);
  assertEqual(view.expanded.size, 1, "only the other process stays expanded");
  assert(changes() > seen, "a fold asks for a frame");
  const lane = view.state.layout.rows[0];
  assert(lane.kind === "process" && !lane.expanded && lane.band, "a compact lane");
  const track = model.processes[0].tracks[0];
  const x = GUTTER + view.state.scale.toPx(track.start[1] + 1);
  const outcome = view.click(x, TRACKS_TOP + lane.y + lane.height - 3);
  assertEquals(outcome, { kind: "expanded", track, slice: 1 });
  assertEquals(view.state.selected, { track: track.index, slice: 1 });
  assertEqual(view.state.layout.height, before);
});

Deno.test("view controller: keys move between processes, expand, collapse all, depth", () => {
  const { view, model } = controller();
  view.command("collapseAll");
  assertEqual(view.expanded.size, 0);
  assertEqual(view.state.focus, 0);
  view.command("nextProcess");
  view.command("nextProcess");
  assertEqual(view.state.focus, 1, "stays on the last process");
  view.command("toggleProcess");
  const expandedRows = view.state.layout.rows.filter((row) =>
    row.kind !== "counter" && row.expanded
  );
  assertEquals(expandedRows.map((row) => row.process), [model.processes[1], model.processes[1]]);
  view.command("toggleDepth");
  assertEqual(view.deep.size, 1);
  view.command("prevProcess");
  view.command("toggleProcess");
  view.command("toggleProcess");
  assertEqual(view.expanded.size, 1, "toggled twice: only the second process is expanded");
  view.command("expandAll");
  assertEqual(view.expanded.size, model.tracks.length);
  assertEqual(view.deep.size, 0);
});

Deno.test("view controller: search steps through matches and reveals each", () => {
  const { view, model } = controller();
  assertEqual(view.search("work"), 2);
  const first = view.stepMatch(1);
  assertEqual(first?.kind === "slice" && model.strings[first.track.name[first.slice]], "work");
  assertEqual(view.state.currentMatch, 0);
  view.setView(model.duration * 0.9, model.duration);
  view.stepMatch(1);
  assertEqual(view.state.currentMatch, 1);
  const { scale } = view.state;
  const track = model.tracks[view.state.selected!.track];
  const k = view.state.selected!.slice;
  assert(scale.start <= track.start[k] && track.start[k] + track.dur[k] <= scale.end, "revealed");
  assertEqual(view.search(""), 0);
  assertEqual(view.state.search, undefined);
  assertEqual(view.stepMatch(1), undefined);
});

Deno.test("view controller: ranges are ordered; zoom to selection and reset move the view", () => {
  const { view, model } = controller();
  view.setRange(700, 300);
  assertEquals(view.state.range, { t0: 300, t1: 700 });
  view.command("zoomToSelection");
  assertEquals([view.state.scale.start, view.state.scale.end], [300, 700]);
  view.command("clear");
  assertEqual(view.state.range, undefined);
  view.command("reset");
  assertEquals([view.state.scale.start, view.state.scale.end], [0, Math.max(model.duration, 10)]);
});

Deno.test("view controller: held keys zoom at the pointer; scrolling stays in bounds", () => {
  const { view } = controller();
  view.pointerX = 500;
  const before = view.state.scale.toTime(500);
  const span = view.state.scale.end - view.state.scale.start;
  view.setMotion(new Set(["zoomIn"]));
  assert(view.moving);
  view.applyMotion(0.05);
  assert(view.state.scale.end - view.state.scale.start < span, "zoomed in");
  assert(Math.abs(view.state.scale.toTime(500) - before) < 1e-6, "around the pointer");
  view.setMotion(new Set());
  assert(!view.moving);
  view.scroll(-100);
  assertEqual(view.state.scrollY, 0);
});

Deno.test("view controller: a click at an arrow's end selects the slice at its other end", () => {
  const model = modelFromEvents([
    slice("main", 0, 1000, { pid: 1, tid: 1 }),
    slice("submit", 100, 50, { pid: 1, tid: 1 }),
    slice("worker", 300, 400, { pid: 2, tid: 2 }),
    { ph: "s", id: 7, pid: 1, tid: 1, ts: 120, cat: "tracer.task", name: "task" },
    { ph: "f", id: 7, pid: 2, tid: 2, ts: 300, cat: "tracer.task", name: "task", bp: "e" },
  ]);
  const view = new ViewController(model, () => {});
  view.resize(GUTTER + 1000, 600, 1);
  view.setView(0, model.duration);
  view.expandAll(true);
  const [placed] = placeArrows(view.state).arrows;
  const [submit, worker] = [placed.arrow.from, placed.arrow.to];
  assertEquals([model.strings[submit.track.name[submit.slice]], placed.arrow.kind], [
    "submit",
    "task",
  ]);
  assertEquals(view.click(placed.from.x + 2, placed.from.y + 1), {
    kind: "selected",
    track: worker.track,
    slice: worker.slice,
  });
  assertEquals(view.click(placed.to.x - 1, placed.to.y), {
    kind: "selected",
    track: submit.track,
    slice: submit.slice,
  });
});

Deno.test("view controller: an instant's marker is hit over the slices, selected, zoomed to", () => {
  const model = modelFromEvents([
    slice("main", 0, 1000, { pid: 1, tid: 1 }),
    slice("validate", 400, 100, { pid: 1, tid: 1 }),
    {
      ph: "i",
      s: "t",
      name: "ValueError",
      cat: "exception",
      ts: 450,
      pid: 1,
      tid: 1,
      args: { type: "ValueError", message: "bad" },
    },
    { ph: "i", s: "t", name: "checkpoint", cat: "instant", ts: 800, pid: 1, tid: 2 },
    slice("other", 0, 1000, { pid: 1, tid: 2 }),
  ]);
  const view = new ViewController(model, () => {});
  view.resize(GUTTER + 1000, 600, 1);
  view.setView(0, model.duration);
  const rowOf = (tid: number) =>
    view.state.layout.rows.find((r) => r.kind !== "counter" && r.band?.track.info.tid === tid)!;
  // Collapsed: the marker hangs from the top of the compact lane.
  const x = GUTTER + view.state.scale.toPx(450 * 100);
  const top = TRACKS_TOP + rowOf(1).y - view.state.scrollY;
  assertEquals(view.hit(x + 3, top + 4)?.instant, 0);
  assertEquals(tooltipLines(view.state, view.hit(x + 3, top + 4)!, x + 3), [
    "ValueError",
    "bad",
    "exception · 450 µs · tid 1",
  ]);
  assertEquals(view.hit(x + 9, top + 4)?.instant, undefined, "beyond the marker's half width");
  // A click on a strip's marker expands its thread and selects the instant.
  const strip = rowOf(2);
  const stripX = GUTTER + view.state.scale.toPx(800 * 100);
  assertEquals(view.click(stripX, TRACKS_TOP + strip.y + 3), { kind: "instant", instant: 1 });
  assertEquals(view.state.selectedInstant, 1);
  assert(view.expanded.size === 1);
  // In a flame chart: on the marker the instant, below it the slice.
  view.expandAll(true);
  const chart = rowOf(1);
  const chartTop = TRACKS_TOP + chart.y - view.state.scrollY;
  assertEquals(view.click(x, chartTop + 5), { kind: "instant", instant: 0 });
  assertEquals([view.state.selectedInstant, view.state.selected], [0, undefined]);
  const below = view.click(x, chartTop + 14);
  assertEquals(below.kind === "selected" && below.slice, 0);
  assertEquals(view.state.selectedInstant, undefined, "a slice's selection replaces it");
  // F zooms to the call the instant happened in; Escape clears it.
  view.selectInstant(0);
  view.command("zoomToSelection");
  assertEquals([view.state.scale.start, view.state.scale.end], [
    400 * 100 - 1000,
    500 * 100 + 1000,
  ]);
  view.command("clear");
  assertEquals(view.state.selectedInstant, undefined);
  // Search finds instants by name, and stepping to one selects it.
  assertEquals(view.search("error"), 1);
  assertEquals(view.stepMatch(1), { kind: "instant", instant: 0 });
  assertEquals(view.state.selectedInstant, 0);
});
