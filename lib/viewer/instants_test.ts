import { deepEqual as assertEquals } from "node:assert/strict";
import { modelFromEvents, slice } from "../report/testing.ts";
import {
  eachColumn,
  enclosingSlice,
  firstInstantAt,
  instantArgs,
  instantAt,
  instantCategory,
  instantKinds,
  instantName,
  isException,
} from "./instants.ts";

const ticks = (us: number) => us * 100;
const model = modelFromEvents([
  slice("run", 0, 100, { tid: 1 }),
  slice("validate", 20, 10, { tid: 1 }),
  // Out of time order in the file, and on two tracks.
  { ph: "i", s: "t", name: "late", cat: "instant", ts: 90, pid: 1, tid: 1, args: { n: 1 } },
  { ph: "i", s: "t", name: "mark", cat: "instant", ts: 25, pid: 1, tid: 1 },
  {
    ph: "i",
    s: "t",
    name: "ValueError",
    cat: "exception",
    ts: 25,
    pid: 1,
    tid: 1,
    args: { type: "ValueError", message: "bad" },
  },
  { ph: "i", s: "t", name: "elsewhere", ts: 25, pid: 1, tid: 2 },
]);
const track = model.tracks[0];

Deno.test("a track's instants are indexed in time order; names, categories, args read back", () => {
  assertEquals([...track.instants].map((i) => instantName(model, i)), [
    "mark",
    "ValueError",
    "late",
  ]);
  assertEquals([...model.tracks[1].instants].map((i) => instantName(model, i)), ["elsewhere"]);
  assertEquals(model.header.instants.map((_, i) => instantCategory(model, i)), [
    "instant",
    "instant",
    "exception",
    "",
  ]);
  assertEquals(model.header.instants.map((_, i) => isException(model, i)), [
    false,
    false,
    true,
    false,
  ]);
  assertEquals(instantArgs(model, 0), { n: 1 });
  assertEquals(instantArgs(model, 1), undefined);
  assertEquals(firstInstantAt(model, track.instants, ticks(26)), 2);
  assertEquals(firstInstantAt(model, track.instants, ticks(25)), 0);
});

Deno.test("hit-testing instants: the nearest within the slack, an exception over a mark", () => {
  assertEquals(instantName(model, instantAt(model, track, ticks(25), ticks(1))), "ValueError");
  assertEquals(instantName(model, instantAt(model, track, ticks(26), ticks(2))), "ValueError");
  assertEquals(instantName(model, instantAt(model, track, ticks(89), ticks(2))), "late");
  assertEquals(instantAt(model, track, ticks(50), ticks(2)), -1);
  assertEquals(instantAt(model, track, ticks(88), ticks(1)), -1);
  assertEquals(instantAt(model, model.tracks[1], ticks(50), ticks(100)), 3);
});

Deno.test("an instant happened in the deepest call running at its time", () => {
  const name = (k: number) => k < 0 ? null : model.strings[track.name[k]];
  assertEquals(name(enclosingSlice(track, ticks(25))), "validate");
  assertEquals(name(enclosingSlice(track, ticks(90))), "run");
  assertEquals(name(enclosingSlice(track, ticks(150))), null);
});

Deno.test("drawing visits one instant per pixel column, exceptions apart from the others", () => {
  const many = modelFromEvents([
    ...Array.from({ length: 10_000 }, (_, n) => ({
      ph: "i",
      s: "t",
      name: "tick",
      cat: "instant",
      ts: n / 100, // 10,000 instants in 100 µs
      pid: 1,
      tid: 1,
    })),
    { ph: "i", s: "t", name: "OSError", cat: "exception", ts: 0.5, pid: 1, tid: 1 },
    { ph: "i", s: "t", name: "late", ts: 1000, pid: 1, tid: 1 },
  ]);
  const track = many.tracks[0];
  const { exceptions, others } = instantKinds(many, track);
  assertEquals([exceptions.length, others.length], [1, 10_001]);
  // Columns of 10 µs each (0 to 10): one visit per column, the first instant in it.
  const scale = {
    start: 0,
    end: ticks(100),
    toPx: (t: number) => t / ticks(10),
    toTime: (px: number) => px * ticks(10),
  };
  const visits: [string, number][] = [];
  eachColumn(many, others, scale, (i, px) => visits.push([instantName(many, i), px]));
  assertEquals(visits.map(([, px]) => px), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assertEquals(visits.every(([name]) => name === "tick"), true);
  const raised: number[] = [];
  eachColumn(many, exceptions, scale, (_, px) => raised.push(px));
  assertEquals(raised, [0]);
});
