import { deepEqual as assertEquals } from "node:assert/strict";
import { modelFromEvents, slice } from "../report/testing.ts";
import { bindSlice } from "./flows.ts";

const flow = (ph: string, id: number, pid: number, ts: number, extra = {}) => ({
  ph,
  id,
  pid,
  tid: pid,
  ts,
  cat: "tracer.launch",
  name: "spawn",
  ...extra,
});

const model = modelFromEvents([
  slice("main", 0, 100, { pid: 1, tid: 1 }),
  slice("Popen.__init__", 10, 20, { pid: 1, tid: 1 }),
  slice("fork_exec", 12, 5, { pid: 1, tid: 1 }),
  slice("import tail", 40, 1, { pid: 2, tid: 2 }),
  slice("<module>", 45, 50, { pid: 2, tid: 2 }),
  slice("helper", 50, 5, { pid: 2, tid: 2 }),
  // Bound to the next call after 9 us (Popen.__init__) and the child's main call.
  flow("s", 9, 1, 9, { args: { bind: "next" } }),
  flow("f", 9, 2, 39, { args: { bind: "main" } }),
  // Bound as Perfetto binds: the enclosing slice, then the next one.
  { ...flow("s", 10, 1, 13), cat: "tracer.task", name: "task" },
  { ...flow("f", 10, 2, 39), cat: "tracer.task", name: "task" },
  // An arrow missing its other end is no arrow.
  flow("s", 11, 1, 50),
]);

Deno.test("flows: each end binds its slice; a process's launch gives its tree parent", () => {
  const name = (end: { track: { name: Uint32Array }; slice: number }) =>
    model.strings[end.track.name[end.slice]];
  assertEquals(
    model.arrows.map((arrow) => [arrow.kind, arrow.name, name(arrow.from), name(arrow.to)]),
    [
      ["launch", "spawn", "Popen.__init__", "<module>"],
      ["task", "task", "fork_exec", "import tail"],
    ],
  );
  const child = model.processes.find((process) => process.info.pid === 2)!;
  assertEquals([child.info.parent, child.info.launch, child.treeDepth], [1, "spawn", 1]);
  assertEquals(model.processes.map((process) => process.info.pid), [1, 2]);
});

Deno.test("bindSlice: enclosing, next and main bindings, none past the end", () => {
  const track = model.processes[0].tracks[0];
  const ticks = (us: number) => us * 100;
  assertEquals(bindSlice(track, ticks(13), "e"), 2);
  assertEquals(bindSlice(track, ticks(11), "n"), 2);
  assertEquals(bindSlice(track, ticks(200), "e"), -1);
  assertEquals(bindSlice(track, ticks(200), "n"), -1);
  assertEquals(bindSlice(model.processes[1].tracks[0], ticks(39), "m"), 1);
});
