import { deepEqual as assertEquals } from "node:assert/strict";
import { modelFromEvents, slice } from "../report/testing.ts";
import { matchNames, searchSlices, stepMatch } from "./search.ts";

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
  const result = searchSlices(model, "load");
  const found = [...result.slices].map((k, i) =>
    model.strings[model.tracks[result.tracks[i]].name[k]]
  );
  assertEquals(found, ["LOAD_data (/app/io.py:9)", "load_config (/app/cfg.py:3)"]);
  assertEquals(stepMatch(result, -1, 1), 0);
  assertEquals(stepMatch(result, 1, 1), 0);
  assertEquals(stepMatch(result, 0, -1), 1);
  assertEquals(searchSlices(model, "io.py").slices.length, 2);
  const none = searchSlices(model, "nothing");
  assertEquals([none.slices.length, stepMatch(none, -1, 1)], [0, -1]);
});
