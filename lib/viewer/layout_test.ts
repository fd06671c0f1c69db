import { deepEqual as assertEquals } from "node:assert/strict";
import { modelFromEvents, slice } from "../report/testing.ts";
import { computeLayout, processKey, rowAt, sliceAt, trackKey } from "./layout.ts";
import { COUNTER_HEIGHT, LEVEL_HEIGHT, PROCESS_HEIGHT } from "./sizes.ts";

const model = modelFromEvents([
  slice("root", 0, 10, { pid: 1, tid: 1 }),
  slice("child", 2, 3, { pid: 1, tid: 1 }),
  slice("other", 0, 4, { pid: 1, tid: 2 }),
  slice("p2", 0, 4, { pid: 2, tid: 2 }),
  { ph: "C", name: "mem", ts: 0, pid: 2, args: { value: 1 } },
]);

Deno.test("processes, counters and threads are stacked with one level per depth", () => {
  const layout = computeLayout(model, new Set());
  assertEquals(layout.rows.map((row) => [row.kind, row.y, row.height]), [
    ["process", 0, PROCESS_HEIGHT],
    ["thread", 24, 2 * LEVEL_HEIGHT + 6],
    ["thread", 66, LEVEL_HEIGHT + 6],
    ["process", 90, PROCESS_HEIGHT],
    ["counter", 114, COUNTER_HEIGHT],
    ["thread", 148, LEVEL_HEIGHT + 6],
  ]);
  assertEquals(layout.height, 172);
});

Deno.test("collapsing a process hides its rows; collapsing a thread keeps one level", () => {
  const [p1, p2] = model.processes;
  const layout = computeLayout(model, new Set([processKey(p2), trackKey(p1.tracks[0])]));
  assertEquals(layout.rows.map((row) => [row.kind, row.height]), [
    ["process", PROCESS_HEIGHT],
    ["thread", LEVEL_HEIGHT + 6],
    ["thread", LEVEL_HEIGHT + 6],
    ["process", PROCESS_HEIGHT],
  ]);
});

Deno.test("rowAt and sliceAt find what is under a point", () => {
  const layout = computeLayout(model, new Set());
  assertEquals(rowAt(layout, 30)?.kind, "thread");
  assertEquals(rowAt(layout, 100)?.kind, "process");
  assertEquals(rowAt(layout, 500), undefined);
  const track = model.processes[0].tracks[0];
  const ticks = (us: number) => us * 100;
  assertEquals(sliceAt(track, 0, ticks(9)), 0);
  assertEquals(sliceAt(track, 1, ticks(3)), 1);
  assertEquals(sliceAt(track, 1, ticks(6)), -1);
  assertEquals(sliceAt(track, 1, ticks(5.5), ticks(1)), 1);
  assertEquals(sliceAt(track, 2, ticks(3)), -1);
});
