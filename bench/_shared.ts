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
