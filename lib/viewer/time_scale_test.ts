import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { axisTicks, formatDuration, formatTime, TimeScale } from "./time_scale.ts";

Deno.test("pixels and times map both ways", () => {
  const scale = new TimeScale(100, 300, 1000, 1000);
  assertEquals(scale.toPx(200), 500);
  assertEquals(scale.toTime(250), 150);
  assertEquals(scale.perPixel, 0.2);
});

Deno.test("zooming keeps the time under the pointer in place", () => {
  const scale = new TimeScale(0, 1000, 500, 1000);
  const before = scale.toTime(100);
  scale.zoomAt(100, 0.5);
  assert(Math.abs(scale.toTime(100) - before) < 1e-9);
  assertEquals(scale.end - scale.start, 500);
});

Deno.test("the window stays within the trace (5% margin) and at least 10 ticks wide", () => {
  const scale = new TimeScale(0, 1000, 500, 1000);
  scale.pan(-100000);
  assertEquals(scale.start, -50);
  scale.set(500, 500.5);
  assertEquals(scale.end - scale.start, 10);
  scale.zoomAt(0, 1e9);
  assertEquals([scale.start, scale.end], [-50, 1050]);
  scale.reset();
  assertEquals([scale.start, scale.end], [0, 1000]);
});

Deno.test("axis ticks use 1/2/5 steps, sit at least the gap apart, and carry units", () => {
  // 10 ns ticks: 1 ms over 1000 px; a 90 px gap needs >= 90 µs: the step is 100 µs.
  const scale = new TimeScale(0, 100_000, 1000, 100_000);
  const ticks = axisTicks(scale, 10);
  assertEquals(ticks.slice(0, 3).map((t) => t.label), ["0 µs", "100 µs", "200 µs"]);
  assertEquals(ticks.length, 11);
  const fine = axisTicks(new TimeScale(0, 20, 1000, 1000), 10, 90);
  assertEquals(fine[1].label, "20 ns");
});

Deno.test("durations and axis positions are formatted with fitting units", () => {
  assertEquals(formatDuration(0), "0 ns");
  assertEquals(formatDuration(950), "950 ns");
  assertEquals(formatDuration(1234), "1.23 µs");
  assertEquals(formatDuration(45_600_000), "45.6 ms");
  assertEquals(formatDuration(2.5e9), "2.50 s");
  assertEquals(formatTime(1_250_000, 250_000), "1.25 ms");
  assertEquals(formatTime(3e9, 1e9), "3 s");
});
