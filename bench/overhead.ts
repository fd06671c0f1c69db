/**
 * Tracing overhead as ratios to the untraced run: whole-process wall time through the CLI and
 * through the shim alone, the running part alone, and VizTracer on the same workloads when it is
 * installed. Runs are interleaved and summarised by their median (the machine is shared).
 *
 * usage: deno run -A bench/overhead.ts [rounds=5]
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_TRACER_ENTRIES, type ShimConfig } from "../lib/run/shim_config.ts";
import { pythonMatrix } from "../tests/helpers.ts";
import { haveViztracer, VIZTRACER } from "./viztracer.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WORKLOADS = join(ROOT, "bench", "workloads");
const VIZTRACER_VENV = dirname(VIZTRACER);
const PYTHONS = pythonMatrix(["3.11", "3.12", "3.13"]);
const rounds = Number(Deno.args[0] ?? 5);

/** Wall seconds of one process run, and its stdout. */
async function timed(argv: string[], env: Record<string, string> = {}) {
  const start = performance.now();
  const output = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - start) / 1000;
  if (!output.success) {
    throw new Error(`${argv.join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return { seconds, stdout: new TextDecoder().decode(output.stdout) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

function shimEnv(outputDir: string): Record<string, string> {
  const config: ShimConfig = {
    version: 1,
    run_id: "bench",
    output_dir: outputDir,
    shim_dir: join(ROOT, "py"),
    ignore_c_function: false,
    max_stack_depth: -1,
    include_files: [],
    exclude_files: [],
    min_duration_us: 0,
    tracer_entries: DEFAULT_TRACER_ENTRIES,
    trace_children: true,
  };
  return { PYTHONPATH: join(ROOT, "py"), TRACER_CONFIG: JSON.stringify(config) };
}

/** One measurement kind: a name and how to run it once (returns seconds). */
type Probe = [string, (python: string, workload: string, tmp: string) => Promise<number>];

const hasViztracer = await haveViztracer();
const hasCli = await exists(join(ROOT, "main.ts"));
const runPart = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop()!).run as number;
const timedRun = join(WORKLOADS, "timed_run.py");

const probes: Probe[] = [
  ["plain", async (py, w) => (await timed([py, w])).seconds],
  ["shim", async (py, w, tmp) => (await timed([py, w], shimEnv(tmp))).seconds],
  ["plain run", async (py, w) => runPart((await timed([py, timedRun, "plain", w])).stdout)],
  [
    "shim run",
    async (py, w, tmp) => runPart((await timed([py, timedRun, "plain", w], shimEnv(tmp))).stdout),
  ],
];
if (hasCli) {
  probes.push(["cli", async (py, w, tmp) =>
    (await timed([
      Deno.execPath(),
      "run",
      "-A",
      join(ROOT, "main.ts"),
      "--quiet",
      "--python",
      py,
      "-o",
      join(tmp, "out.json"),
      w,
    ])).seconds]);
}

function viztracerProbes(version: string): Probe[] {
  if (!hasViztracer || version !== "3.11") return [];
  const python = join(VIZTRACER_VENV, "python3");
  return [
    [
      "viz",
      async (_py, w, tmp) =>
        (await timed([VIZTRACER, "--quiet", "-o", join(tmp, "v.json"), w]))
          .seconds,
    ],
    [
      "viz run",
      async (_py, w, tmp) =>
        runPart((await timed([python, timedRun, "viztracer", w, join(tmp, "v.json")])).stdout),
    ],
  ];
}

async function measure(version: string, python: string, workload: string) {
  const all = [...probes, ...viztracerProbes(version)];
  const samples = new Map<string, number[]>(all.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, probe] of all) {
      const tmp = await Deno.makeTempDir({ prefix: "tracer_bench_" });
      try {
        samples.get(name)!.push(await probe(python, join(WORKLOADS, workload), tmp));
      } finally {
        await Deno.remove(tmp, { recursive: true });
      }
    }
  }
  return new Map([...samples].map(([name, values]) => [name, median(values)]));
}

const ratio = (a?: number, b?: number) => a === undefined || !b ? "-" : `${(a / b).toFixed(2)}x`;

console.log(`tracer overhead, medians of ${rounds} interleaved rounds (ratios to untraced)`);
if (!hasViztracer) console.log(`VizTracer not found in ${VIZTRACER_VENV}: its columns are skipped`);
if (!hasCli) console.log("main.ts not found: the CLI column is skipped");
console.log(
  "python workload   untraced  cli total  shim total  viz total  | untraced run  shim run  viz run",
);
for (const [version, python] of PYTHONS) {
  if (!await exists(python)) {
    console.log(`${version}: ${python} not found, skipped`);
    continue;
  }
  for (const workload of ["fib.py", "mixed.py", "numeric.py"]) {
    const m = await measure(version, python, workload);
    const plain = m.get("plain")!;
    const plainRun = m.get("plain run")!;
    console.log(
      [
        version.padEnd(6),
        workload.padEnd(10),
        `${plain.toFixed(3)}s`.padStart(8),
        ratio(m.get("cli"), plain).padStart(9),
        ratio(m.get("shim"), plain).padStart(10),
        ratio(m.get("viz"), plain).padStart(10),
        " |",
        `${plainRun.toFixed(3)}s`.padStart(12),
        ratio(m.get("shim run"), plainRun).padStart(9),
        ratio(m.get("viz run"), plainRun).padStart(8),
      ].join(" "),
    );
  }
  if (hasCli) {
    const empty = await measure(version, python, "empty.py");
    console.log(
      `${version}  empty script: tracer adds ${
        ((empty.get("cli")! - empty.get("plain")!) * 1000)
          .toFixed(0)
      } ms (CLI from source), the shim alone ${
        ((empty.get("shim")! - empty.get("plain")!) * 1000).toFixed(0)
      } ms`,
    );
  }
}
