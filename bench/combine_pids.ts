/**
 * Combine benchmark for many distinct processes (issue 24): generates one JSON trace holding N
 * distinct pids (each its own thread, 2 events), combines it to JSON and to an HTML report, and
 * prints wall and CPU time and peak RSS against the goals; then sends SIGTERM at 10%, 30%, 50%,
 * 70% and 90% of the JSON run's time and prints how long tracer took to stop (the goal: 1 s, exit
 * 143, no file left beside the output). Inputs live in a private temp dir removed at the end.
 *
 *   deno run -A bench/combine_pids.ts [--pids 200000,800000,2000000] [--no-signals]
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { combineCli, measure, type Measured } from "./_shared.ts";

const GOALS = { peakMb: 1000, jsonSeconds: 30, stopSeconds: 1 };
const SIGNAL_AT = [0.1, 0.3, 0.5, 0.7, 0.9];

const args = parseArgs({
  args: Deno.args,
  options: {
    pids: { type: "string", default: "200000,800000,2000000" },
    "no-signals": { type: "boolean", default: false },
  },
});

const dir = await Deno.makeTempDir({ prefix: "tracer_bench_pids_" });
try {
  for (const pids of args.values.pids.split(",").map(Number)) {
    const input = await generate(join(dir, `pids_${pids}.json`), pids);
    const mb = (await Deno.stat(input)).size / 1e6;
    console.log(
      `\n${pids.toLocaleString("en-US")} distinct pids, 2 events each, ${mb.toFixed(0)} MB`,
    );
    let jsonSeconds = 0;
    for (const format of ["json", "html"]) {
      const out = join(dir, `out.${format}`);
      const result = await measure(combineCli([input], out));
      if (result.code !== 0) throw new Error(`tracer failed: ${result.stderr.slice(-2000)}`);
      report(`to ${format.toUpperCase()}`, result, format === "json");
      if (format === "json") jsonSeconds = result.seconds;
      await Deno.remove(out);
    }
    if (!args.values["no-signals"]) await signals(input, jsonSeconds);
    await Deno.remove(input);
  }
} finally {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

function report(label: string, result: Measured, timed: boolean): void {
  const time = `${result.seconds.toFixed(2).padStart(7)} s (${result.cpuSeconds.toFixed(2)} s CPU)`;
  const ratio = timed
    ? `, ${(result.seconds / GOALS.jsonSeconds).toFixed(2)} of the time goal`
    : "";
  console.log(
    `  ${label.padEnd(8)} ${time}  peak RSS ${result.peakMb.toFixed(0)} MB ` +
      `(${(result.peakMb / GOALS.peakMb).toFixed(2)} of the ${GOALS.peakMb} MB goal${ratio})`,
  );
}

/** SIGTERM at points of a JSON run: how long each took to stop, and what it left. */
async function signals(input: string, seconds: number): Promise<void> {
  const out = join(dir, "stopped.json");
  const waits: string[] = [];
  let worst = 0;
  const [command, ...args] = combineCli([input], out);
  for (const at of SIGNAL_AT) {
    const child = new Deno.Command(command, {
      args,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    await new Promise((resolve) => setTimeout(resolve, at * seconds * 1000));
    const sent = performance.now();
    child.kill("SIGTERM");
    const { code, stderr } = await child.output();
    const took = (performance.now() - sent) / 1000;
    const left = [...Deno.readDirSync(dir)].filter((entry) => entry.name.startsWith("stopped"));
    if (code !== 143 || left.length > 0) {
      const last = new TextDecoder().decode(stderr).trim().split("\n").at(-1);
      throw new Error(`SIGTERM at ${at * 100}%: exit ${code}, left ${left.length} files: ${last}`);
    }
    worst = Math.max(worst, took);
    waits.push(`${Math.round(took * 1000)} ms`);
  }
  console.log(
    `  SIGTERM at ${SIGNAL_AT.map((at) => `${at * 100}%`).join(", ")}: stopped after ` +
      `${waits.join(", ")} (worst ${(worst / GOALS.stopSeconds).toFixed(2)} of the 1 s goal)`,
  );
}

/** Writes a trace of `pids` distinct processes, each its own thread with 2 events. */
async function generate(path: string, pids: number): Promise<string> {
  const encoder = new TextEncoder();
  using file = await Deno.open(path, { write: true, createNew: true });
  let text = '{"traceEvents":[\n';
  for (let pid = 1; pid <= pids; pid++) {
    text += `{"ph":"X","pid":${pid},"tid":${pid},"ts":${pid}.5,"dur":3,"name":"f","cat":"py"},\n` +
      `{"ph":"X","pid":${pid},"tid":${pid},"ts":${pid}.7,"dur":0.1,"name":"g","cat":"py"}` +
      (pid < pids ? ",\n" : "\n]}\n");
    if (text.length > 1 << 20) {
      await file.write(encoder.encode(text));
      text = "";
    }
  }
  await file.write(encoder.encode(text));
  return path;
}
