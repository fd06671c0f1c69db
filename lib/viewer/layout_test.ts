import { deepEqual as assertEquals } from "node:assert/strict";
import { modelFromEvents, slice } from "../report/testing.ts";
import type { TraceEvent } from "../trace_event.ts";
import { computeLayout, rowAt, sliceAt, trackKey } from "./layout.ts";
import { isTaskTrack } from "./model.ts";
import {
  COUNTER_HEIGHT,
  FOOTER_HEIGHT,
  LANE_HEIGHT,
  LEVEL_HEIGHT,
  MAX_LEVELS,
  PROCESS_HEIGHT,
  STRIP_HEIGHT,
} from "./sizes.ts";

const DEEP = MAX_LEVELS + 5;
const model = modelFromEvents([
  slice("root", 0, 10, { pid: 1, tid: 1 }),
  slice("child", 2, 3, { pid: 1, tid: 1 }),
  slice("other", 0, 4, { pid: 1, tid: 2 }),
  slice("p2", 0, 4, { pid: 2, tid: 2 }),
  { ph: "C", name: "mem", ts: 0, pid: 2, args: { value: 1 } },
  ...Array.from({ length: DEEP }, (_, d) => slice(`deep${d}`, d, 100 - 2 * d, { pid: 3, tid: 3 })),
]);
const none = { expanded: new Set<string>(), deep: new Set<string>() };
const describe = (rows: ReturnType<typeof computeLayout>["rows"]) =>
  rows.map((row) => [
    row.kind,
    row.y,
    row.height,
    row.kind === "counter" ? null : row.band?.track.info.tid ?? null,
    row.kind === "counter" ? null : row.band?.levels ?? null,
  ]);

Deno.test("by default each process is a compact lane and each further thread a strip", () => {
  const layout = computeLayout(model, none);
  assertEquals(describe(layout.rows), [
    ["process", 0, LANE_HEIGHT, 1, 2],
    ["thread", LANE_HEIGHT, STRIP_HEIGHT, 2, 1],
    ["process", LANE_HEIGHT + STRIP_HEIGHT, LANE_HEIGHT, 2, 1],
    ["process", 2 * LANE_HEIGHT + STRIP_HEIGHT, LANE_HEIGHT, 3, 3],
  ]);
  assertEquals(layout.height, 3 * LANE_HEIGHT + STRIP_HEIGHT);
});

Deno.test("an expanded thread is a flame chart under its process header, depth bounded", () => {
  const [p1, p2, p3] = model.processes;
  const deepTrack = p3.tracks[0];
  const expanded = new Set([trackKey(p1.tracks[0]), trackKey(p2.tracks[0]), trackKey(deepTrack)]);
  const layout = computeLayout(model, { expanded, deep: new Set() });
  const chart = (levels: number, footer = false) =>
    levels * LEVEL_HEIGHT + 6 + (footer ? FOOTER_HEIGHT : 0);
  let y = 0;
  const next = (height: number) => (y += height) - height;
  assertEquals(describe(layout.rows), [
    ["process", next(PROCESS_HEIGHT), PROCESS_HEIGHT, null, null],
    ["thread", next(chart(2)), chart(2), 1, 2],
    ["thread", next(STRIP_HEIGHT), STRIP_HEIGHT, 2, 1],
    ["process", next(PROCESS_HEIGHT), PROCESS_HEIGHT, null, null],
    ["counter", next(COUNTER_HEIGHT), COUNTER_HEIGHT, null, null],
    ["thread", next(chart(1)), chart(1), 2, 1],
    ["process", next(PROCESS_HEIGHT), PROCESS_HEIGHT, null, null],
    ["thread", next(chart(MAX_LEVELS, true)), chart(MAX_LEVELS, true), 3, MAX_LEVELS],
  ]);
  const last = layout.rows[layout.rows.length - 1];
  assertEquals(last.kind === "thread" && [last.hidden, last.footer], [DEEP - MAX_LEVELS, true]);
  const all = computeLayout(model, { expanded, deep: new Set([trackKey(deepTrack)]) });
  const row = all.rows[all.rows.length - 1];
  assertEquals(row.kind === "thread" && [row.band.levels, row.hidden, row.footer], [DEEP, 0, true]);
});

Deno.test("rowAt and sliceAt find what is under a point", () => {
  const layout = computeLayout(model, none);
  assertEquals(rowAt(layout, LANE_HEIGHT + 2)?.kind, "thread");
  assertEquals(rowAt(layout, 2)?.kind, "process");
  assertEquals(rowAt(layout, 500), undefined);
  const track = model.processes[0].tracks[0];
  const ticks = (us: number) => us * 100;
  assertEquals(sliceAt(track, 0, ticks(9)), 0);
  assertEquals(sliceAt(track, 1, ticks(3)), 1);
  assertEquals(sliceAt(track, 1, ticks(6)), -1);
  assertEquals(sliceAt(track, 1, ticks(5.5), ticks(1)), 1);
  assertEquals(sliceAt(track, 2, ticks(3)), -1);
});

Deno.test("thread_sort_index orders a process's rows: each loop thread, its task rows, the next", () => {
  const T = 2 ** 30;
  const thread = (tid: number, name: string, sortIndex: number): TraceEvent[] => [
    { ph: "M", name: "thread_name", pid: 5, tid, args: { name } },
    { ph: "M", name: "thread_sort_index", pid: 5, tid, args: { sort_index: sortIndex } },
  ];
  const model = modelFromEvents([
    // The tasks' steps come first in the file, and their tids are the largest.
    slice("fetch", 10, 1, { pid: 5, tid: T + 2 }),
    slice("main", 5, 1, { pid: 5, tid: T + 1 }),
    slice("poll", 12, 1, { pid: 5, tid: T + 3 }),
    slice("run", 0, 50, { pid: 5, tid: 5 }),
    slice("run", 0, 50, { pid: 5, tid: 6 }),
    slice("work", 0, 50, { pid: 5, tid: 7 }),
    ...thread(T + 3, "Task-3 poll()", 4),
    ...thread(7, "ThreadPoolExecutor-0_0", 5),
    ...thread(6, "loop-2", 3),
    ...thread(T + 2, "Task-2 fetch()", 2),
    ...thread(T + 1, "Task-1 main()", 1),
    ...thread(5, "MainThread", 0),
    // A tid past 2**30 that no thread_name names is not a task row.
    slice("x", 0, 1, { pid: 5, tid: T + 9 }),
    { ph: "M", name: "thread_sort_index", pid: 5, tid: T + 9, args: { sort_index: 6 } },
  ]);
  const process = model.processes[0];
  const expanded = new Set(process.tracks.map(trackKey));
  const rows = computeLayout(model, { expanded, deep: new Set() }).rows;
  const threads = rows.flatMap((row) => row.kind === "thread" ? [row.track] : []);
  assertEquals(threads.map((track) => [track.info.name, isTaskTrack(track)]), [
    ["MainThread", false],
    ["Task-1 main()", true],
    ["Task-2 fetch()", true],
    ["loop-2", false],
    ["Task-3 poll()", true],
    ["ThreadPoolExecutor-0_0", false],
    ["", false],
  ]);
  // Collapsed: the process lane holds the loop thread, the tasks follow as strips.
  const compact = computeLayout(model, none).rows;
  assertEquals(compact.map((row) => row.kind === "counter" ? null : row.band?.track.info.tid), [
    5,
    T + 1,
    T + 2,
    6,
    T + 3,
    7,
    T + 9,
  ]);
});
