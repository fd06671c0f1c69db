import { deepEqual as assertEquals } from "node:assert/strict";
import { modelFromEvents, slice } from "../report/testing.ts";
import { flameDepth, flameGraph, type FlameNode } from "./flame_graph.ts";

const model = modelFromEvents([
  slice("main", 0, 100, { pid: 1, tid: 1 }),
  slice("a", 10, 20, { pid: 1, tid: 1 }),
  slice("leaf", 12, 5, { pid: 1, tid: 1 }),
  slice("b", 40, 50, { pid: 1, tid: 1 }),
  slice("a", 60, 10, { pid: 1, tid: 1 }), // inside b: another stack
  slice("main", 0, 30, { pid: 2, tid: 2 }),
  slice("a", 0, 30, { pid: 2, tid: 2 }),
]);
const us = (ticks: number) => ticks / 100;

function describe(node: FlameNode): unknown {
  return [
    node.name < 0 ? "root" : model.strings[node.name],
    us(node.total),
    us(node.self),
    node.calls,
    node.children.map(describe),
  ];
}

Deno.test("flame graph: identical stacks merge, heaviest child first, across tracks", () => {
  const graph = flameGraph(model, { t0: -Infinity, t1: Infinity });
  assertEquals(describe(graph), [
    "root",
    130,
    0,
    0,
    [["main", 130, 30, 2, [
      ["a", 50, 45, 2, [["leaf", 5, 5, 1, []]]],
      ["b", 50, 40, 1, [["a", 10, 10, 1, []]]],
    ]]],
  ]);
  assertEquals(flameDepth(graph), 3);
});

Deno.test("flame graph: one thread, clipped to a range", () => {
  const graph = flameGraph(model, { t0: 5 * 100, t1: 45 * 100 }, (t) => t.info.pid === 1);
  assertEquals(describe(graph), [
    "root",
    40,
    0,
    0,
    [["main", 40, 15, 1, [["a", 20, 15, 1, [["leaf", 5, 5, 1, []]]], ["b", 5, 5, 1, []]]]],
  ]);
});
