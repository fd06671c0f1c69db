import { deepEqual as assertEquals } from "node:assert/strict";
import { findCycles, type ImportGraph, localGraph } from "./check_cycles.ts";

const graph = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

Deno.test("an acyclic graph has no cycles", () => {
  assertEquals(findCycles(graph({ a: ["b", "c"], b: ["c"], c: [] })), []);
});

Deno.test("a cycle is found once, beside the acyclic rest", () => {
  const cycles = findCycles(graph({ main: ["a"], a: ["b"], b: ["c"], c: ["a", "d"], d: [] }));
  assertEquals(cycles, [["a", "b", "c"]]);
});

Deno.test("a module importing itself is a cycle; two separate cycles are two", () => {
  const cycles = findCycles(graph({ a: ["a"], b: ["c"], c: ["b"] }));
  assertEquals(cycles.map((cycle) => cycle.toSorted()), [["a"], ["b", "c"]]);
});

Deno.test("the local graph keeps file modules and both code and type-only imports", () => {
  const local = localGraph({
    modules: [
      {
        specifier: "file:///a.ts",
        dependencies: [
          { code: { specifier: "file:///b.ts" } },
          { type: { specifier: "file:///c.ts" } },
          { code: { specifier: "node:path" } },
        ],
      },
      { specifier: "node:path" },
    ],
  });
  assertEquals(local, graph({ "file:///a.ts": ["file:///b.ts", "file:///c.ts"] }));
});
