/**
 * Tracing overhead, side by side in one run on CPython 3.11 to 3.15: tracer with its native
 * core and with its Python core, VizTracer (a venv per CPython, see viztracer.ts) and cProfile,
 * on a call-heavy workload (~1.3 M calls) and a mixed one (json, re, dataclasses, sorting), and
 * the call-heavy one again with `--log_func_args` (tracer's cores and VizTracer; cProfile has no
 * such option), and again keeping only the recent calls (tracer's `--flight`, VizTracer's ring),
 * and once more under a small cap (tracer keeps both ends, VizTracer its ring of the last ones).
 *
 * Per row: the program's own running time (measured inside it by workloads/timed_run.py), the
 * whole run with the output written (wall time: tracer through the CLI writing JSON, VizTracer
 * writing JSON, cProfile writing its .prof), and peak RSS (GNU time's %M: the largest process of
 * the run, so for tracer the larger of the traced Python and the CLI). Runs are interleaved and
 * summarised by their median (the machine is shared): compare ratios, not seconds.
 *
 * usage: deno run -A bench/overhead.ts [rounds=3] [version...]  (default: 3.11 to 3.15)
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nativeLibs, PLATFORM } from "../lib/run/native.ts";
import { pythonMatrix } from "../tests/helpers.ts";
import { viztracerFor } from "./viztracer.ts";
import { median, tracerCli } from "./_shared.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WORKLOADS = join(ROOT, "bench", "workloads");
const TIMED_RUN = join(WORKLOADS, "timed_run.py");
const GNU_TIME = "/usr/bin/time";
const rounds = Number(Deno.args[0] ?? 3);

/** One run's measurements. */
interface Sample {
  /** Running part, seconds, as the program measured it. */
  run: number;
  /** Whole run, wall seconds. */
  wall: number;
  /** Peak RSS, MiB. */
  rssMiB: number;
}

/** Runs `argv` under GNU time; returns its running part (last stdout line), wall time and RSS. */
async function sample(argv: string[], tmp: string): Promise<Sample> {
  const rssFile = join(tmp, "rss");
  const start = performance.now();
  const output = await new Deno.Command(GNU_TIME, {
    args: ["-o", rssFile, "-f", "%M", ...argv],
    cwd: tmp,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = (performance.now() - start) / 1000;
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`${argv.join(" ")} failed: ${stderr}`);
  if (stderr.includes("recording with the Python core")) throw new Error(stderr.trim());
  const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
  const run = JSON.parse(lines[lines.length - 1]).run as number;
  const rssKiB = Number((await Deno.readTextFile(rssFile)).trim().split("\n").pop());
  return { run, wall, rssMiB: rssKiB / 1024 };
}

/** A way to run a workload: a column name and its argv. */
type Runner = [string, (workload: string, tmp: string) => string[]];

function runners(
  python: string,
  viztracer: string | null,
  native: boolean,
  flags: string[],
  vizFlags: string[],
): Runner[] {
  const cli = (core: string) => (workload: string, tmp: string) => [
    ...tracerCli(core, python, join(tmp, "out.json"), flags),
    TIMED_RUN,
    "plain",
    workload,
  ];
  const list: Runner[] = [["untraced", (w) => [python, TIMED_RUN, "plain", w]]];
  if (native) list.push(["native", cli("native")]);
  list.push(["python", cli("python")]);
  if (viztracer !== null) {
    list.push(["viztracer", (w, tmp) => [
      viztracer,
      "--quiet",
      "--tracer_entries",
      "3000000", // every call kept, as tracer does (its default buffer holds 1 M)
      ...vizFlags,
      "-o",
      join(tmp, "v.json"),
      TIMED_RUN,
      "plain",
      w,
    ]]);
  }
  if (flags.length > 0) return list;
  list.push(["cProfile", (w, tmp) => [
    python,
    "-m",
    "cProfile",
    "-o",
    join(tmp, "p.prof"),
    TIMED_RUN,
    "plain",
    w,
  ]]);
  return list;
}

async function measure(list: Runner[], workload: string): Promise<Map<string, Sample>> {
  const samples = new Map<string, Sample[]>(list.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, argv] of list) {
      const tmp = await Deno.makeTempDir({ prefix: "tracer_bench_" });
      try {
        samples.get(name)!.push(await sample(argv(join(WORKLOADS, workload), tmp), tmp));
      } finally {
        await Deno.remove(tmp, { recursive: true });
      }
    }
  }
  return new Map(
    [...samples].map(([name, list]) => [name, {
      run: median(list.map((s) => s.run)),
      wall: median(list.map((s) => s.wall)),
      rssMiB: median(list.map((s) => s.rssMiB)),
    }]),
  );
}

const x = (a?: number, b?: number) => (a === undefined || !b ? "-" : `${(a / b).toFixed(2)}x`);
const pad = (text: string, width: number) => text.padStart(width);

const libs = await nativeLibs();
const built = libs !== null && libs.platform === PLATFORM ? Object.keys(libs.libs) : [];
console.log(`tracer overhead: medians of ${rounds} interleaved rounds`);
console.log(
  "run: the program's running part (untraced seconds, then each tracer as a ratio to it);\n" +
    "whole: wall time of the whole run with the output written (ratios to untraced);\n" +
    "RSS: peak MiB; n/viz: tracer's native core against VizTracer (< 1 is faster)",
);
const header = [
  "py    workload  ",
  "| run: untraced  native  python     viz  cProf  n/viz",
  "| whole: untraced  native  python     viz  cProf  n/viz",
  "| RSS: untraced native python   viz",
].join(" ");
console.log(header);
const versions = Deno.args.length > 1
  ? Deno.args.slice(1)
  : ["3.11", "3.12", "3.13", "3.14", "3.15"];
for (const [version, python] of pythonMatrix(versions)) {
  const viztracer = await viztracerFor(version);
  const native = built.includes(`cp${version.replace(".", "")}`);
  if (viztracer === null) {
    console.log(`${version}: no VizTracer (see bench/viztracer.ts): its columns skipped`);
  }
  if (!native) console.log(`${version}: no native core built (deno task build:native): skipped`);
  for (
    const [workload, label, flags, vizFlags] of [
      ["calls.py", "calls.py", [], []],
      ["mixed.py", "mixed.py", [], []],
      ["calls.py", "calls+args", ["--log_func_args"], ["--log_func_args"]],
      // Keeping only the recent calls: tracer's last 0.5 s (about half the calls) against
      // VizTracer's ring of its last 1 M entries (its default).
      ["calls.py", "calls+ring", ["--flight", "0.5"], ["--tracer_entries", "1000000"]],
      // A cap well below the run's 1.3 M calls: tracer keeps the first and the last 50,000,
      // VizTracer its ring of the last 100,000 entries.
      ["calls.py", "calls+cap", ["--tracer_entries", "100000"], ["--tracer_entries", "100000"]],
    ] as [string, string, string[], string[]][]
  ) {
    const m = await measure(runners(python, viztracer, native, flags, vizFlags), workload);
    const base = m.get("untraced")!;
    const get = (name: string) => m.get(name);
    console.log([
      version.padEnd(5),
      label.padEnd(10),
      "|",
      pad(`${base.run.toFixed(3)}s`, 13),
      pad(x(get("native")?.run, base.run), 7),
      pad(x(get("python")?.run, base.run), 7),
      pad(x(get("viztracer")?.run, base.run), 7),
      pad(x(get("cProfile")?.run, base.run), 6),
      pad(x(get("native")?.run, get("viztracer")?.run), 6),
      "|",
      pad(`${base.wall.toFixed(3)}s`, 15),
      pad(x(get("native")?.wall, base.wall), 7),
      pad(x(get("python")?.wall, base.wall), 7),
      pad(x(get("viztracer")?.wall, base.wall), 7),
      pad(x(get("cProfile")?.wall, base.wall), 6),
      pad(x(get("native")?.wall, get("viztracer")?.wall), 6),
      "|",
      pad(base.rssMiB.toFixed(0), 13),
      pad(get("native")?.rssMiB.toFixed(0) ?? "-", 6),
      pad(get("python")?.rssMiB.toFixed(0) ?? "-", 6),
      pad(get("viztracer")?.rssMiB.toFixed(0) ?? "-", 5),
    ].join(" "));
  }
}
