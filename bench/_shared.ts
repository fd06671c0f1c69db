/**
 * What the benchmarks share: the median of their rounds and the command line that runs a program
 * under tracer's CLI as the compiled binary would.
 * @module
 */
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** `deno run -A main.ts --combine INPUTS -o OUT`: tracer's combine as the compiled binary runs it. */
export function combineCli(inputs: string[], out: string): string[] {
  return [Deno.execPath(), "run", "-A", MAIN, "--combine", ...inputs, "-o", out];
}

/**
 * `deno run -A main.ts --quiet --core CORE [OPTIONS] --python PYTHON -o OUT`: the program's argv
 * goes after it.
 */
export function tracerCli(
  core: string,
  python: string,
  out: string,
  options: string[] = [],
): string[] {
  return [
    Deno.execPath(),
    "run",
    "-A",
    MAIN,
    "--quiet",
    "--core",
    core,
    ...options,
    "--python",
    python,
    "-o",
    out,
  ];
}

/** What `measure` saw of one command. */
export interface Measured {
  seconds: number;
  /** User + system CPU seconds (from /usr/bin/time; NaN without it): steadier on a busy machine. */
  cpuSeconds: number;
  peakMb: number;
  code: number;
  stderr: string;
}

/** Runs a command (no shell) and measures its wall time and peak resident set size. */
export async function measure(argv: string[]): Promise<Measured> {
  const haveTime = await Deno.stat("/usr/bin/time").then(() => true, () => false);
  const command = haveTime ? ["/usr/bin/time", "-v", ...argv] : argv;
  const start = performance.now();
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let polledKb = 0;
  const poll = haveTime ? undefined : setInterval(() => {
    try {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      const kb = Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? 0);
      if (kb > polledKb) polledKb = kb;
    } catch { /* exited */ }
  }, 20);
  const output = await child.output();
  const seconds = (performance.now() - start) / 1000;
  if (poll !== undefined) clearInterval(poll);
  const stderr = new TextDecoder().decode(output.stderr);
  const timedKb = Number(stderr.match(/Maximum resident set size \(kbytes\): (\d+)/)?.[1] ?? 0);
  const cpuSeconds = Number(stderr.match(/User time \(seconds\): ([\d.]+)/)?.[1] ?? NaN) +
    Number(stderr.match(/System time \(seconds\): ([\d.]+)/)?.[1] ?? NaN);
  return {
    seconds,
    cpuSeconds,
    peakMb: (haveTime ? timedKb : polledKb) / 1024,
    code: output.code,
    stderr,
  };
}
