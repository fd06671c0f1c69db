/**
 * Fails when the project's own modules import each other in a cycle, type-only imports included,
 * when lib/'s folders do (a cycle between folders), or when a module imports from a higher layer
 * (LAYERS). Reads the module graph with `deno info --json` from the entry points (default: the CLI,
 * the viewer and every test and bench module), keeps the local `file:` modules and names the
 * modules of each problem.
 *
 *   deno run -A scripts/check_cycles.ts [entry.ts...]
 * @module
 */
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

/** Module -> the modules it imports (code or type), both as specifiers. */
export type ImportGraph = Map<string, string[]>;

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEFAULT_ENTRIES = ["main.ts", "lib/viewer/main.ts", "lib/viewer/build.ts"];

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
}

/** The local (`file:`) part of the graph `deno info --json` prints. */
export function localGraph(info: { modules: InfoModule[] }): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const module of info.modules) {
    if (!module.specifier.startsWith("file:")) continue;
    const targets = new Set<string>();
    for (const dependency of module.dependencies ?? []) {
      for (const target of [dependency.code?.specifier, dependency.type?.specifier]) {
        if (target?.startsWith("file:")) targets.add(target);
      }
    }
    graph.set(module.specifier, [...targets]);
  }
  return graph;
}

/**
 * The modules that import each other in a cycle, one group per strongly connected component
 * (Tarjan), each in the order the search met them; a single module counts only when it imports
 * itself.
 */
export function findCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.unshift(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component);
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

async function moduleGraph(entry: string): Promise<ImportGraph> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stderr: "inherit",
  }).output();
  if (!result.success) throw new Error(`deno info ${entry} failed`);
  return localGraph(JSON.parse(new TextDecoder().decode(result.stdout)));
}

async function testAndBenchModules(): Promise<string[]> {
  const found: string[] = [];
  for (const dir of ["tests", "bench"]) {
    for await (const entry of Deno.readDir(`${ROOT}/${dir}`)) {
      if (entry.isFile && entry.name.endsWith(".ts")) found.push(`${dir}/${entry.name}`);
    }
  }
  return found.sort();
}

/**
 * The folders of lib/ from the lowest layer up (`lib`: the shared modules at its top). A module
 * imports only from its own layer or lower ones: the stages run one way, and a folder never
 * reaches up into one that uses it.
 */
export const LAYERS: readonly string[] = [
  "lib/bytes",
  "lib",
  "lib/raw",
  "lib/combine",
  "lib/viewer", // the report embeds the viewer's bundle
  "lib/report",
  "lib/run",
  "lib/cli",
];

/** The lib/ folder a module belongs to (`lib` for its top), or null outside lib/. */
export function folderOf(path: string): string | null {
  const parts = path.split("/");
  if (parts[0] !== "lib") return null;
  return parts.length === 2 ? "lib" : `lib/${parts[1]}`;
}

/** The folder graph of a module graph (paths relative to the root), without self-edges. */
export function folderGraph(graph: ImportGraph): ImportGraph {
  const folders = new Map<string, Set<string>>();
  for (const [module, targets] of graph) {
    const from = folderOf(module);
    if (from === null) continue;
    const edges = folders.get(from) ?? new Set<string>();
    folders.set(from, edges);
    for (const target of targets) {
      const to = folderOf(target);
      if (to !== null && to !== from) edges.add(to);
    }
  }
  return new Map([...folders].map(([folder, edges]) => [folder, [...edges].sort()]));
}

/** Each import that reaches up a layer (or from or into a folder LAYERS does not know). */
export function layerViolations(graph: ImportGraph): string[] {
  const found: string[] = [];
  for (const [module, targets] of graph) {
    const from = folderOf(module);
    if (from === null) continue;
    for (const target of targets) {
      const to = folderOf(target);
      if (to === null || to === from) continue;
      const [low, high] = [LAYERS.indexOf(to), LAYERS.indexOf(from)];
      if (low < 0 || high < 0) {
        found.push(`${module} -> ${target}: ${low < 0 ? to : from} is in no layer (LAYERS)`);
      } else if (low > high) {
        found.push(`${module} -> ${target}: ${from} reaches up into ${to}`);
      }
    }
  }
  return found;
}

async function main(entries: string[]): Promise<number> {
  const specifiers: ImportGraph = new Map();
  for (const entry of entries) {
    for (const [module, targets] of await moduleGraph(entry)) specifiers.set(module, targets);
  }
  const name = (specifier: string) => relative(ROOT, fileURLToPath(specifier));
  const graph: ImportGraph = new Map(
    [...specifiers].map(([module, targets]) => [name(module), targets.map(name)]),
  );
  const problems = [
    ...findCycles(graph).map((cycle) => `import cycle among: ${cycle.join(", ")}`),
    ...findCycles(folderGraph(graph)).map((cycle) =>
      `import cycle among folders: ${cycle.join(", ")}`
    ),
    ...layerViolations(graph).map((line) => `import up a layer: ${line}`),
  ];
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) return 1;
  console.log(`no import cycles in ${graph.size} modules, none between folders, none up a layer`);
  return 0;
}

if (import.meta.main) {
  const entries = Deno.args.length > 0
    ? Deno.args
    : [...DEFAULT_ENTRIES, ...await testAndBenchModules()];
  Deno.exit(await main(entries));
}
