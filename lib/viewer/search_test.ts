import { deepEqual as assertEquals } from "node:assert/strict";
import { modelFromEvents, slice } from "../report/testing.ts";
import { matchNames, searchTrace, stepMatch } from "./search.ts";

const model = modelFromEvents([
  slice("load_config (/app/cfg.py:3)", 5, 1, { tid: 1 }),
  slice("main (/app/main.py:1)", 0, 10, { tid: 1 }),
  slice("LOAD_data (/app/io.py:9)", 2, 1, { tid: 2 }),
  slice("save (/app/io.py:20)", 8, 1, { tid: 2 }),
]);

Deno.test("names match case-insensitively anywhere in the text", () => {
  assertEquals([...matchNames(["Foo.bar", "baz", "xFOOy"], "foo")], [1, 0, 1]);
});

Deno.test("search finds matches across threads, in time order, and steps with wrap-around", () => {
  const result = searchTrace(model, "load");
  const found = [...result.slices].map((k, i) =>
    model.strings[model.tracks[result.tracks[i]].name[k]]
  );
  assertEquals(found, ["LOAD_data (/app/io.py:9)", "load_config (/app/cfg.py:3)"]);
  assertEquals(stepMatch(result, -1, 1), 0);
  assertEquals(stepMatch(result, 1, 1), 0);
  assertEquals(stepMatch(result, 0, -1), 1);
  assertEquals(searchTrace(model, "io.py").slices.length, 2);
  const none = searchTrace(model, "nothing");
  assertEquals([none.slices.length, stepMatch(none, -1, 1)], [0, -1]);
});

Deno.test("search finds instants by name, in time order among the slices", () => {
  const model = modelFromEvents([
    slice("validate (/app/a.py:3)", 0, 10, { tid: 1 }),
    slice("raise_error (/app/a.py:9)", 20, 10, { tid: 2 }),
    { ph: "i", s: "t", name: "ValueError", cat: "exception", ts: 5, pid: 1, tid: 1 },
    { ph: "i", s: "t", name: "mark", cat: "instant", ts: 6, pid: 1, tid: 1 },
  ]);
  const result = searchTrace(model, "error");
  assertEquals([...result.instants], [0, -1]);
  assertEquals([...result.slices], [-1, 0]);
  assertEquals([...result.tracks].map((t) => model.tracks[t].info.tid), [1, 2]);
});
