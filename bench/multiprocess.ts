/**
 * Multi-process benchmark: a `Pool(2)` CPU workload and 12 processes started with `spawn`, run
 * untraced, through tracer's CLI and through VizTracer, side by side in the same run (each round
 * runs all three, so machine noise hits them alike). Prints median wall times, ratios to untraced,
 * tracer's ratio against VizTracer's, and the peak RSS of the largest single process.
 *
 * Peak memory: every command runs under a small Python wrapper that waits for it and reports
 * `getrusage(RUSAGE_CHILDREN).ru_maxrss`, the largest peak RSS of any process in the tree that was
 * waited for (tracer's own CLI process included, and every traced Python process).
 *
 *   deno run -A bench/multiprocess.ts [--rounds 3] [--python python3] [--no-viztracer]
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { haveViztracer, VIZTRACER } from "./viztracer.ts";
import { median } from "./_shared.ts";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

const GOALS = { ratioOfViztracers: 0.5, peakMb: 300 };

const WORKLOADS: Record<string, string> = {
  "pool2_map": `
import multiprocessing

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def task(i):
    return fib(17) + i

if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        assert len(pool.map(task, range(240))) == 240
`,
  "spawn_12": `
import multiprocessing

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def work(rounds):
    for _ in range(rounds):
        fib(15)

if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    processes = [ctx.Process(target=work, args=(40,)) for _ in range(12)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        assert process.exitcode == 0
`,
};

const WRAPPER = `
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
print(json.dumps({"code": code, "wall": wall,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
`;

interface Measure {
  wall: number;
  peakMb: number;
}

async function measure(python: string, argv: string[], cwd: string): Promise<Measure> {
  const output = await new Deno.Command(python, {
    args: ["-c", WRAPPER, ...argv],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (!output.success) throw new Error(`wrapper failed: ${decoder.decode(output.stderr)}`);
  const result = JSON.parse(decoder.decode(output.stdout).trim().split("\n").pop()!);
  if (result.code !== 0) {
    throw new Error(`${argv.join(" ")} exited ${result.code}: ${decoder.decode(output.stderr)}`);
  }
  return { wall: result.wall, peakMb: result.maxrss_kb / 1024 };
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "3" },
      python: { type: "string", default: "python3" },
      "no-viztracer": { type: "boolean", default: false },
    },
  });
  const rounds = Number(values.rounds);
  const python = values.python!;
  const withViztracer = !values["no-viztracer"] && await haveViztracer();
  if (!values["no-viztracer"] && !withViztracer) {
    console.log(`VizTracer not found at ${VIZTRACER}: comparing with untraced runs only`);
  }
  const dir = await Deno.makeTempDir({ prefix: "tracer_bench_mp_" });
  try {
    console.log(`rounds: ${rounds}, python: ${python}, wall times are medians`);
    console.log(
      "workload   untraced   tracer (ratio, peak MB)       viztracer (ratio, peak MB)    tracer/viz",
    );
    for (const [name, source] of Object.entries(WORKLOADS)) {
      const script = join(dir, `${name}.py`);
      await Deno.writeTextFile(script, source);
      const variants: Record<string, string[]> = {
        untraced: [python, script],
        tracer: [
          Deno.execPath(),
          "run",
          "-A",
          MAIN,
          "--quiet",
          "--python",
          python,
          "-o",
          join(dir, `${name}.tracer.json`),
          script,
        ],
      };
      if (withViztracer) {
        variants.viztracer = [VIZTRACER, "--quiet", "-o", join(dir, `${name}.viz.json`), script];
      }
      const results: Record<string, Measure[]> = {};
      for (let round = 0; round < rounds; round++) {
        for (const [variant, argv] of Object.entries(variants)) {
          (results[variant] ??= []).push(await measure(python, argv, dir));
        }
      }
      const wall = (variant: string) => median(results[variant].map((m) => m.wall));
      const peak = (variant: string) => Math.max(...results[variant].map((m) => m.peakMb));
      const base = wall("untraced");
      const ratio = (variant: string) => wall(variant) / base;
      const cell = (variant: string) =>
        results[variant]
          ? `${wall(variant).toFixed(2)} s (${ratio(variant).toFixed(1)}x, ${
            peak(variant).toFixed(0)
          } MB)`.padEnd(30)
          : "skipped".padEnd(30);
      const versus = results.viztracer
        ? `${
          (ratio("tracer") / ratio("viztracer")).toFixed(2)
        } (goal <= ${GOALS.ratioOfViztracers})`
        : "-";
      console.log(
        `${name.padEnd(10)} ${base.toFixed(2)} s     ${cell("tracer")}${
          cell("viztracer")
        }${versus}`,
      );
      const tracerPeak = peak("tracer");
      console.log(
        `           peak RSS of any single traced-run process: ${
          tracerPeak.toFixed(0)
        } MB (goal <= ${GOALS.peakMb}) ${tracerPeak <= GOALS.peakMb ? "ok" : "OVER"}; untraced: ${
          peak("untraced").toFixed(0)
        } MB`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
