import { deepEqual as assertEquals } from "node:assert/strict";
import { modelFromEvents, slice } from "../report/testing.ts";
import { rangeStats, sortStats } from "./stats.ts";

const model = modelFromEvents([
  slice("main", 0, 100),
  slice("work", 10, 40),
  slice("work", 20, 10), // recursive call inside work
  slice("io", 60, 20),
  slice("io", 0, 30, { tid: 2 }),
]);
const us = (ticks: number) => ticks / 100;
const table = (rows: ReturnType<typeof rangeStats>) =>
  Object.fromEntries(rows.map((r) => [r.name, [r.count, us(r.total), us(r.self)]]));

Deno.test("whole-trace statistics: counts, totals without double-counted recursion, self", () => {
  const rows = rangeStats(model, { t0: -Infinity, t1: Infinity });
  assertEquals(table(rows), {
    main: [1, 100, 40],
    work: [2, 40, 40],
    io: [2, 50, 50],
  });
  assertEquals(sortStats(rows, "self").map((r) => r.name), ["io", "main", "work"]);
  assertEquals(sortStats(rows, "name").map((r) => r.name), ["io", "main", "work"]);
  assertEquals(us(rows.find((r) => r.name === "io")!.average), 25);
});

Deno.test("range statistics clip slices to the range", () => {
  const rows = rangeStats(model, { t0: 25 * 100, t1: 65 * 100 });
  assertEquals(table(rows), {
    main: [1, 40, 10],
    work: [2, 25, 25],
    io: [2, 10, 10],
  });
});

Deno.test("a track filter limits statistics to chosen threads", () => {
  const rows = rangeStats(model, { t0: -Infinity, t1: Infinity }, {
    filter: (track) => track.info.tid === 2,
  });
  assertEquals(table(rows), { io: [1, 30, 30] });
});
