import { deepEqual as assertEquals, equal as assertEqual, ok as assert } from "node:assert/strict";
import { modelFromEvents, slice } from "../report/testing.ts";
import { LevelOfDetail } from "./lod.ts";

// 5000 short calls 2 us apart, then one long call alone in the last 500 us.
const model = modelFromEvents([
  ...Array.from({ length: 5000 }, (_, i) => slice("short", 2 * i, 1)),
  slice("long", 10_000, 500),
]);
const track = model.tracks[0];

const setBins = (occupied: Uint32Array) => {
  const bins: number[] = [];
  for (let bin = 0; bin < occupied.length * 32; bin++) {
    if (occupied[bin >>> 5] & (1 << (bin & 31))) bins.push(bin);
  }
  return bins;
};

Deno.test("a zoomed-out level is summarised by bins no wider than a pixel", () => {
  const lod = new LevelOfDetail(model.duration);
  const perPixel = model.duration / 1000;
  const summary = lod.summary(track, 0, perPixel)!;
  assert(summary.binTicks <= perPixel && summary.binTicks > perPixel / 2, `${summary.binTicks}`);
  assertEquals([...summary.long], [5000], "only the long call lasts a bin");
  const expected = new Set<number>();
  for (let k = 0; k < track.start.length; k++) {
    expected.add(Math.floor(track.start[k] / summary.binTicks));
  }
  assertEquals(setBins(summary.occupied), [...expected].sort((a, b) => a - b));
  assertEqual(lod.summary(track, 0, perPixel), summary, "built once, then cached");
});

Deno.test("levels with fewer than two slices per bin are drawn slice by slice", () => {
  const lod = new LevelOfDetail(model.duration);
  assertEqual(lod.summary(track, 0, model.duration / 4000), undefined);
  assertEqual(lod.summary(track, 1, model.duration / 1000), undefined, "no such level");
});

Deno.test("each frame builds summaries up to a budget; the rest wait for later frames", () => {
  const many = modelFromEvents(
    Array.from(
      { length: 7 },
      (_, tid) => Array.from({ length: 60_000 }, (_, i) => slice("call", 2 * i, 1, { tid })),
    ).flat(),
  );
  const lod = new LevelOfDetail(many.duration);
  const perPixel = many.duration / 1000;
  const built = () => many.tracks.filter((t) => lod.summary(t, 0, perPixel) !== undefined).length;
  assertEqual(built(), 5, "300 000 slices: five levels of 60 000");
  assertEqual(built(), 5, "no budget left until the next frame");
  lod.beginFrame();
  assertEqual(built(), 7);
});
