import { deepEqual as assertEquals } from "node:assert/strict";
import {
  findCycles,
  folderGraph,
  type ImportGraph,
  layerViolations,
  localGraph,
} from "./check_cycles.ts";

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

Deno.test("folders: raw and combine importing each other is a cycle between folders", () => {
  const modules = graph({
    "lib/raw/raw_files.ts": ["lib/combine/raw_source.ts", "lib/errors.ts"],
    "lib/combine/raw_source.ts": ["lib/raw/records.ts"],
    "lib/raw/records.ts": [],
    "main.ts": ["lib/raw/raw_files.ts"],
  });
  assertEquals(folderGraph(modules).get("lib/raw"), ["lib", "lib/combine"]);
  assertEquals(findCycles(folderGraph(modules)), [["lib/raw", "lib/combine"]]);
});

Deno.test("layers: an import from a higher layer, or from a folder in none, is named", () => {
  const modules = graph({
    "lib/run/run_program.ts": ["lib/cli/args.ts", "lib/run/signals.ts", "lib/errors.ts"],
    "lib/cli/args.ts": ["lib/run/target.ts"],
    "lib/newstage/x.ts": ["lib/errors.ts"],
    "tests/a_test.ts": ["lib/cli/args.ts"],
  });
  assertEquals(layerViolations(modules), [
    "lib/run/run_program.ts -> lib/cli/args.ts: lib/run reaches up into lib/cli",
    "lib/newstage/x.ts -> lib/errors.ts: lib/newstage is in no layer (LAYERS)",
  ]);
});
