/**
 * Real multi-process programs, side by side in one run on CPython 3.11: `pytest -n 2`
 * (pytest-xdist, execnet subprocesses) on the test suite of toolz's sdist, and `sphinx-build -j 2`
 * (fork workers) on a generated 21-page project (workloads/sphinx_project.py). Each runs untraced,
 * under tracer's native core with its default cap (5 M calls per process; the rest counted
 * as dropped), under tracer keeping 1 M calls per process (VizTracer's default buffer size), and under
 * VizTracer with its defaults (a ring of 1 M entries per process: it keeps the last ones).
 *
 * Per row: the program's running part (workloads/timed_run.py around the module, in the root
 * process: for tracer and VizTracer the workers' recording is in it, their final writes are not),
 * the whole run with the combined JSON written, and the events in that JSON. Rounds interleave
 * the four; medians. The first run sets up a venv with viztracer, pytest, pytest-xdist and sphinx
 * and fetches the toolz sdist (PyPI) under $XDG_CACHE_HOME/tracer-bench (or ~/.cache).
 *
 * usage: deno run -A bench/real_programs.ts [rounds=3]
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pythonMatrix } from "../tests/helpers.ts";
import { median, tracerCli } from "./_shared.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WORKLOADS = join(ROOT, "bench", "workloads");
const TIMED_RUN = join(WORKLOADS, "timed_run.py");
const rounds = Number(Deno.args[0] ?? 3);
const CACHE = join(
  Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/tmp", ".cache"),
  "tracer-bench",
);
const VENV = join(CACHE, "real-3.11");
const PACKAGES = ["viztracer", "pytest", "pytest-xdist", "sphinx"];

async function run(
  argv: string[],
  cwd?: string,
  env?: Record<string, string>,
): Promise<{ ok: boolean; out: string }> {
  const output = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { ok: output.success, out: decode(output.stdout) + decode(output.stderr) };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** The venv's python and the unpacked toolz sdist, set up on the first run. */
async function setUp(python: string): Promise<{ venvPython: string; toolz: string } | string> {
  const venvPython = join(VENV, "bin", "python");
  if (!(await exists(join(VENV, "bin", "viztracer")))) {
    console.log(`setting up ${VENV}: ${PACKAGES.join(", ")}`);
    const made = await run([python, "-m", "venv", VENV]);
    if (!made.ok) return `no venv: ${made.out}`;
    const installed = await run([venvPython, "-m", "pip", "install", "-q", ...PACKAGES]);
    if (!installed.ok) return `pip install failed: ${installed.out}`;
  }
  const sdists = join(CACHE, "sdist");
  const found = () => {
    try {
      for (const entry of Deno.readDirSync(sdists)) {
        if (entry.isDirectory && entry.name.startsWith("toolz-")) return join(sdists, entry.name);
      }
    } catch { /* not fetched yet */ }
    return null;
  };
  let toolz = found();
  if (toolz === null) {
    const fetched = await run([
      venvPython,
      "-m",
      "pip",
      "download",
      "-q",
      "--no-deps",
      "--no-binary",
      ":all:",
      "toolz",
      "-d",
      sdists,
    ]);
    if (!fetched.ok) return `no toolz sdist: ${fetched.out}`;
    const archive = [...Deno.readDirSync(sdists)].find((e) => e.name.endsWith(".tar.gz"));
    if (!archive) return "no toolz sdist archive";
    const unpacked = await run(["tar", "xzf", archive.name], sdists);
    if (!unpacked.ok) return `tar: ${unpacked.out}`;
    toolz = found();
  }
  return toolz === null ? "no toolz directory" : { venvPython, toolz };
}

interface Sample {
  run: number;
  wall: number;
  events: number;
}

/** A program: its module argv and the directory it runs in. */
interface Program {
  name: string;
  module: string[];
  cwd: string;
}

/** A column: its name and its argv, given the JSON it writes. */
type Runner = [string, (out: string) => string[]];

function runners(venvPython: string): Runner[] {
  const timed = [TIMED_RUN, "plain", "module"]; // the program's argv: TIMED_ARGV
  const tracer = (cap: string[]) => (out: string) => [
    ...tracerCli("native", venvPython, out, cap),
    ...timed,
  ];
  return [
    ["untraced", () => [venvPython, ...timed]],
    ["tracer", tracer([])],
    ["tracer 1M", tracer(["--tracer_entries", "1000000"])],
    ["viztracer", (out) => [
      join(VENV, "bin", "viztracer"),
      "--quiet",
      "-o",
      out,
      ...timed,
    ]],
  ];
}

/** X events in a combined JSON (`"ph":"X"`, or `"ph": "X"` as VizTracer writes), counted
 * without parsing it whole (it can be over 1 GB). */
async function countEvents(path: string): Promise<number> {
  if (!(await exists(path))) return 0;
  const key = new TextEncoder().encode('"ph":');
  const X = new TextEncoder().encode('"X"');
  let count = 0;
  let carry = new Uint8Array(0);
  using file = await Deno.open(path);
  for await (const chunk of file.readable) {
    const bytes = new Uint8Array(carry.length + chunk.length);
    bytes.set(carry);
    bytes.set(chunk, carry.length);
    let from = 0;
    let kept = bytes.length;
    for (;;) {
      const at = indexOf(bytes, key, from);
      if (at < 0) break;
      let value = at + key.length;
      while (bytes[value] === 0x20) value++;
      if (value + X.length > bytes.length) {
        kept = at; // the value is in the next chunk: look at this key again then
        break;
      }
      if (bytes[value] === X[0] && bytes[value + 1] === X[1] && bytes[value + 2] === X[2]) count++;
      from = value;
    }
    carry = bytes.slice(Math.min(kept, Math.max(from, bytes.length - key.length + 1)));
  }
  return count;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  for (let i = haystack.indexOf(first, from); i >= 0; i = haystack.indexOf(first, i + 1)) {
    if (i + needle.length > haystack.length) return -1;
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

async function sample(argv: string[], program: Program, out: string): Promise<Sample> {
  const start = performance.now();
  const result = await run(argv, program.cwd, { TIMED_ARGV: JSON.stringify(program.module) });
  const wall = (performance.now() - start) / 1000;
  const last = [...result.out.matchAll(/\{"run": ([\d.e-]+), "save": [\d.e-]+\}/g)].pop();
  if (!result.ok || last === undefined) throw new Error(`${argv.join(" ")}:\n${result.out}`);
  return { run: Number(last[1]), wall, events: await countEvents(out) };
}

const python = pythonMatrix(["3.11"]).get("3.11");
const ready = python ? await setUp(python) : "no CPython 3.11";
if (typeof ready === "string") {
  console.log(`real programs: skipped (${ready})`);
  Deno.exit(0);
}
const work = await Deno.makeTempDir({ prefix: "tracer_bench_real_" });
try {
  const sphinxSource = join(work, "sphinx_src");
  const made = await run([ready.venvPython, join(WORKLOADS, "sphinx_project.py"), sphinxSource]);
  if (!made.ok) throw new Error(made.out);
  const programs: Program[] = [
    {
      name: "pytest -n 2 (toolz)",
      module: ["pytest", "-q", "-n", "2", "-p", "no:cacheprovider", "toolz"],
      cwd: ready.toolz,
    },
    {
      name: "sphinx-build -j 2",
      module: ["sphinx", "-q", "-E", "-j", "2", sphinxSource, join(work, "sphinx_out")],
      cwd: work,
    },
  ];
  const list = runners(ready.venvPython);
  console.log(`real programs on CPython 3.11: medians of ${rounds} interleaved rounds`);
  console.log(
    "run: the program's running part (s); whole: wall time with the JSON written (s); " +
      "events: X events in the JSON; t/viz: tracer against VizTracer (< 1 is faster)",
  );
  for (const program of programs) {
    const samples = new Map<string, Sample[]>(list.map(([name]) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [name, argv] of list) {
        const out = join(work, "out.json");
        samples.get(name)!.push(await sample(argv(out), program, out));
        await Deno.remove(out).catch(() => {});
      }
    }
    const m = new Map(
      [...samples].map(([name, s]) => [name, {
        run: median(s.map((x) => x.run)),
        wall: median(s.map((x) => x.wall)),
        events: Math.round(median(s.map((x) => x.events))),
      }]),
    );
    const viz = m.get("viztracer")!;
    console.log(`\n${program.name}`);
    console.log("  column       run (s)  whole (s)      events  run t/viz  whole t/viz");
    for (const [name, value] of m) {
      const ratios = name.startsWith("tracer")
        ? `${(value.run / viz.run).toFixed(2).padStart(9)}  ${
          (value.wall / viz.wall).toFixed(2).padStart(11)
        }`
        : "";
      console.log(
        `  ${name.padEnd(11)} ${value.run.toFixed(2).padStart(8)} ${
          value.wall.toFixed(2).padStart(10)
        } ${value.events.toLocaleString("en-US").padStart(11)}  ${ratios}`,
      );
    }
  }
} finally {
  await Deno.remove(work, { recursive: true });
}
