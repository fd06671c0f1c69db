/**
 * Fork benchmark: how long `os.fork()` takes to return in the child when the parent's recording
 * buffer is full (the child rebuilds its open calls from it), untraced and traced through the CLI,
 * side by side in each round. Prints medians and the traced/untraced ratio per Python.
 *
 *   deno run -A bench/fork_return.ts [--rounds 5] [--python python3 ...]
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
const WORKLOAD = fileURLToPath(new URL("./workloads/fork_return.py", import.meta.url));

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    python: { type: "string", multiple: true, default: ["python3"] },
  },
});

/** Runs the workload once; returns the child's os.fork return time in ms. */
async function childForkMs(command: string[]): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "tracer_bench_" });
  try {
    const out = await new Deno.Command(command[0], {
      args: command.slice(1),
      cwd: dir,
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) throw new Error(`${command.join(" ")} failed`);
    return Number(new TextDecoder().decode(out.stdout).trim());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const rounds = Number(values.rounds);
console.log("python      untraced ms   traced ms   ratio");
for (const python of values.python) {
  const plain: number[] = [];
  const traced: number[] = [];
  for (let round = 0; round < rounds; round++) {
    plain.push(await childForkMs([python, WORKLOAD]));
    traced.push(
      await childForkMs([
        Deno.execPath(),
        "run",
        "-A",
        MAIN,
        "-q",
        "--python",
        python,
        "-o",
        "t.json",
        WORKLOAD,
      ]),
    );
  }
  const [a, b] = [median(plain), median(traced)];
  console.log(
    `${python.padEnd(10)} ${a.toFixed(2).padStart(11)} ${b.toFixed(2).padStart(11)} ${
      (b / a).toFixed(1).padStart(7)
    }x`,
  );
}
