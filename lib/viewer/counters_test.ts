import { deepEqual as assertEquals } from "node:assert/strict";
import { modelFromEvents, slice } from "../report/testing.ts";
import { counterSampleAt, formatCounterValue } from "./counters.ts";
import { GUTTER, TRACKS_TOP } from "./sizes.ts";
import { tooltipLines } from "./tooltip.ts";
import { ViewController } from "./view_controller.ts";

const counter = (ts: number, args: Record<string, number>) => ({
  ph: "C",
  name: "queue",
  cat: "counter",
  ts,
  pid: 1,
  tid: 1,
  args,
});

const model = modelFromEvents([
  slice("main", 0, 100, { pid: 1, tid: 1 }),
  counter(10, { pending: 3, done: 0 }),
  counter(40, { pending: 1, done: 2 }),
  counter(70, { pending: 0, done: 3 }),
  { ph: "C", name: "memory", cat: "counter", ts: 0, pid: 1, tid: 1, args: { value: 2.5e6 } },
]);

Deno.test("a counter event with several keys is one series per key under its process", () => {
  assertEquals(model.header.counters.map((series) => [series.pid, series.name]), [
    [1, "queue pending"],
    [1, "queue done"],
    [1, "memory"],
  ]);
  const view = new ViewController(model, () => {});
  view.expandAll(true);
  assertEquals(
    view.state.layout.rows.map((row) => row.kind === "counter" ? row.series.name : row.kind),
    ["process", "queue pending", "queue done", "memory", "thread"],
  );
});

Deno.test("a counter holds its value until the next sample; none before the first", () => {
  const [pending] = model.header.counters;
  const at = (us: number) => counterSampleAt(pending, us * 100);
  assertEquals(at(5), undefined);
  assertEquals(at(10), { t: 1000, value: 3 });
  assertEquals(at(39.9), { t: 1000, value: 3 });
  assertEquals(at(55), { t: 4000, value: 1 });
  assertEquals(at(1000), { t: 7000, value: 0 });
  assertEquals([formatCounterValue(2.5e6), formatCounterValue(1 / 3), formatCounterValue(0)], [
    "2.50e+6",
    "0.333",
    "0",
  ]);
});

Deno.test("hovering a counter row shows its value at the pointer's time", () => {
  const view = new ViewController(model, () => {});
  view.resize(GUTTER + 1000, 600, 1);
  view.setView(0, model.duration);
  view.expandAll(true);
  const row = view.state.layout.rows.find((r) => r.kind === "counter")!;
  const y = TRACKS_TOP + row.y + 5;
  const lines = (us: number) => {
    const x = GUTTER + view.state.scale.toPx(us * 100);
    return tooltipLines(view.state, view.hit(x, y)!, x);
  };
  assertEquals(lines(50), ["queue pending = 1", "since 40.0 µs"]);
  assertEquals(lines(5), ["queue pending", "no sample yet"]);
});
