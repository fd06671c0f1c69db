/**
 * Combine benchmark: generates per-process trace files in tracer's format (8 files per set, one
 * event per line), combines them to JSON with `tracer --combine` and, where installed, with
 * `viztracer --combine` on the same files in the same run, and prints throughput, peak RSS (from
 * `/usr/bin/time -v`, or polling /proc when it is missing) and the ratio. Inputs live in a private
 * temp dir removed at the end.
 *
 * Files carry `tracerEnd.first_ts` (their earliest ts), which lets combine place them without a
 * first pass; `--no-first-ts` leaves it out to measure the two-pass path.
 *
 *   deno run -A bench/combine.ts [--events 1000000,10000000] [--files 8] [--viztracer-max 1000000]
 *     [--no-first-ts]
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { haveViztracer, VIZTRACER } from "./viztracer.ts";
import { combineCli, measure, type Measured } from "./_shared.ts";

const GOALS = { peakMb: 200, mbPerS: 100, timesFasterThanViztracer: 10 };

const args = parseArgs({
  args: Deno.args,
  options: {
    events: { type: "string", default: "1000000,10000000" },
    files: { type: "string", default: "8" },
    "viztracer-max": { type: "string", default: "1000000" },
    "no-first-ts": { type: "boolean", default: false },
  },
});
const sizes = args.values.events.split(",").map(Number);
const fileCount = Number(args.values.files);
const viztracerMax = Number(args.values["viztracer-max"]);
const withFirstTs = !args.values["no-first-ts"];
const viztracerFound = await haveViztracer();

const dir = await Deno.makeTempDir({ prefix: "tracer_bench_combine_" });
try {
  for (const events of sizes) {
    const inputs = await generate(join(dir, `in_${events}`), events, fileCount);
    const inputBytes = (await Promise.all(inputs.map((path) => Deno.stat(path))))
      .reduce((sum, stat) => sum + stat.size, 0);
    const inputMb = inputBytes / 1e6;
    console.log(
      `\n${events.toLocaleString("en-US")} events in ${fileCount} files, ` +
        `${inputMb.toFixed(0)} MB`,
    );

    const ours = await measure(combineCli(inputs, join(dir, "tracer_out.json")));
    check(ours, "tracer");
    report("tracer --combine", ours, events, inputMb);
    await Deno.remove(join(dir, "tracer_out.json"));

    if (viztracerFound && events <= viztracerMax) {
      const theirs = await measure([
        VIZTRACER,
        "--combine",
        ...inputs,
        "-o",
        join(dir, "viztracer_out.json"),
      ]);
      check(theirs, "viztracer");
      report("viztracer --combine", theirs, events, inputMb);
      await Deno.remove(join(dir, "viztracer_out.json")).catch(() => {});
      const ratio = theirs.seconds / ours.seconds;
      const cpuRatio = theirs.cpuSeconds / ours.cpuSeconds;
      console.log(
        `  tracer is ${ratio.toFixed(1)}x faster than VizTracer in wall time, ` +
          `${
            cpuRatio.toFixed(1)
          }x in CPU time (goal >= ${GOALS.timesFasterThanViztracer}x), uses ` +
          `${(theirs.peakMb / ours.peakMb).toFixed(1)}x less memory`,
      );
    } else if (viztracerFound) {
      console.log(`  (VizTracer skipped above ${viztracerMax.toLocaleString("en-US")} events)`);
    }
    await Deno.remove(join(dir, `in_${events}`), { recursive: true });
  }
} finally {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

function report(label: string, result: Measured, events: number, inputMb: number): void {
  const mbPerS = inputMb / result.seconds;
  console.log(
    `  ${label.padEnd(20)} ${result.seconds.toFixed(2).padStart(7)} s  ` +
      `(${result.cpuSeconds.toFixed(2)} s CPU)  ` +
      `${(events / result.seconds / 1e6).toFixed(2)} M events/s  ${mbPerS.toFixed(0)} MB/s ` +
      `(goal >= ${GOALS.mbPerS})  peak RSS ${result.peakMb.toFixed(0)} MB ` +
      `(goal < ${GOALS.peakMb} for tracer)`,
  );
}

function check(result: Measured, what: string): void {
  if (result.code !== 0) {
    throw new Error(`${what} failed with exit code ${result.code}: ${result.stderr.slice(-2000)}`);
  }
}

/** Writes `events` events spread over `files` tracer-format files; returns their paths. */
async function generate(dir: string, events: number, files: number): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const encoder = new TextEncoder();
  const paths: string[] = [];
  const perFile = Math.ceil(events / files);
  for (let f = 0; f < files; f++) {
    const pid = 1000 + f;
    const path = join(dir, `result_${pid}.json`);
    paths.push(path);
    const count = Math.min(perFile, events - f * perFile);
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    const other = {
      tracer_version: 1,
      pid,
      ppid: 999,
      argv: ["bench.py"],
      host: "bench",
      boot_id: "b",
      clock: { epoch_ns: 1_700_000_000_000_000_000 + f * 1e6, mono_ns: 5e9 + f * 1e6 },
    };
    let text = `{"otherData":${JSON.stringify(other)},"traceEvents":[\n`;
    for (let i = 0; i < count; i++) {
      const ts = (5e6 + f * 1000 + i * 1.375).toFixed(3);
      text += `{"ph":"X","pid":${pid},"tid":${pid + (i & 3)},"ts":${ts},"dur":1.125,` +
        `"name":"handler_${i % 97} (/srv/app/module_${i % 13}.py:${i % 400})","cat":"py"},\n`;
      if (text.length > 1 << 20) {
        await file.write(encoder.encode(text));
        text = "";
      }
    }
    text += `{"ph":"M","pid":${pid},"tid":${pid},"name":"thread_name",` +
      `"args":{"name":"MainThread"}}\n],"tracerEnd":{` +
      (withFirstTs ? `"first_ts":${(5e6 + f * 1000).toFixed(3)},` : "") +
      `"events":${count + 1},"dropped_events":0}}\n`;
    await file.write(encoder.encode(text));
    file.close();
  }
  return paths;
}
