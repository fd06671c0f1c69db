import { deepEqual as assertEquals } from "node:assert/strict";
import type { ProcessModel } from "./model.ts";
import { treeOrder } from "./tree.ts";

function process(pid: number, parent: number | undefined, start: number): ProcessModel {
  return {
    info: { pid, name: `p${pid}`, labels: "", sortIndex: 0, droppedEvents: 0, parent },
    tracks: [{ start: new Float64Array([start]) } as unknown as ProcessModel["tracks"][number]],
    unfinished: 0,
    treeDepth: -1,
  };
}

Deno.test("tree order: parents first, children by start time, cycles and orphans kept", () => {
  const processes = [
    process(1, undefined, 0),
    process(5, 3, 50),
    process(3, 1, 30),
    process(2, 1, 20),
    process(9, 404, 5), // its parent is not in the trace: a root
    process(7, 8, 1), // 7 and 8 are each other's parent: no root reaches them
    process(8, 7, 2),
  ];
  const ordered = treeOrder(processes);
  assertEquals(ordered.map((p) => [p.info.pid, p.treeDepth]), [
    [1, 0],
    [2, 1],
    [3, 1],
    [5, 2],
    [9, 0],
    [7, 0],
    [8, 1],
  ]);
});
