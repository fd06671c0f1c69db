/**
 * `tracer [options] script.py args`: run the program under the shim, then combine the
 * per-process files into the requested output (or leave them, with `--pid_suffix`).
 * @module
 */
import { join, resolve } from "node:path";
import type { RunCommand } from "./args.ts";
import type { Reporter } from "./_reporter.ts";
import { combineFiles, type CombineSource } from "../combine/combine.ts";
import { convertRawFiles, probeRawFiles } from "../raw/raw_files.ts";
import { formatError, UsageError } from "../errors.ts";
import { ensureDir, prepareOutputPath } from "../report/output_file.ts";
import { findPython } from "../run/find_python.ts";
import { tracedEnv } from "../run/python_env.ts";
import { runProgram } from "../run/run_program.ts";
import { writeShim } from "../run/shim.ts";
import type { ShimConfig } from "../run/shim_config.ts";
import { grouped, summaryLine, warningLine } from "./_summary.ts";
import type { TraceWarning } from "../trace_event.ts";
import { readEnd, readStart, sourceRecords } from "../trace_metadata.ts";
import { writeOutput } from "../report/write_output.ts";
import { openIfAsked } from "./open_report.ts";

/** Runs and traces the program; returns the exit status tracer should end with. */
export async function traceProgram(command: RunCommand, report: Reporter): Promise<number> {
  const env = Deno.env.toObject();
  const python = findPython(command.python, env);
  await checkTarget(command);
  const outputPath = command.output === null
    ? null
    : await prepareOutputPath(command.output.path, command.outputDir);
  const pidSuffixDir = command.output === null ? resolve(command.outputDir ?? ".") : null;
  if (pidSuffixDir !== null) await ensureDir(pidSuffixDir);

  const tempDir = await Deno.makeTempDir({ prefix: "tracer_" });
  try {
    const shimDir = await writeShim(join(tempDir, "shim"));
    const dataDir = join(tempDir, "data");
    await Deno.mkdir(dataDir, { mode: 0o700 });
    const config: ShimConfig = {
      version: 1,
      run_id: crypto.randomUUID(),
      output_dir: dataDir,
      shim_dir: shimDir,
      ignore_c_function: command.trace.ignoreCFunction,
      max_stack_depth: command.trace.maxStackDepth,
      include_files: command.trace.includeFiles.map((path) => resolve(path)),
      exclude_files: command.trace.excludeFiles.map((path) => resolve(path)),
      min_duration_us: command.trace.minDurationUs,
      tracer_entries: command.trace.tracerEntries,
      trace_children: command.trace.traceChildren,
      core: command.trace.core,
    };
    const outcome = await runProgram({
      python,
      target: command.target,
      env: tracedEnv(env, config),
      marker: `"run_id":"${config.run_id}"`,
      dataDir,
      waitTimeoutS: command.waitTimeoutS,
      report: (line) => report(`tracer: ${line}`),
    });
    try {
      await collect(outcome.warnings, { dataDir, outputPath, pidSuffixDir, command, report });
    } catch (error) {
      // The program ran: its exit status stands, whatever happened to its trace.
      report(formatError(error));
    }
    return outcome.exitCode;
  } finally {
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
}

interface CollectOptions {
  dataDir: string;
  outputPath: string | null;
  pidSuffixDir: string | null;
  command: RunCommand;
  report: Reporter;
}

interface DeliverOptions extends CollectOptions {
  warnings: TraceWarning[];
}

/** Reads the run's raw files and writes the output; a process whose file is damaged is skipped. */
async function collect(runWarnings: TraceWarning[], options: CollectOptions): Promise<void> {
  const { dataDir, pidSuffixDir, report } = options;
  const warnings: TraceWarning[] = [...runWarnings];
  const rawOptions = {
    jsonDir: pidSuffixDir ?? dataDir,
    warnings,
    report: (line: string) => report(`tracer: ${line}`),
  };
  // Combining reads the raw files directly; --pid_suffix keeps one JSON file per process.
  const files = pidSuffixDir === null
    ? await probeRawFiles(dataDir, rawOptions)
    : await convertRawFiles(dataDir, rawOptions);
  if (files.length === 0) {
    for (const warning of warnings) report(warningLine(warning));
    report(
      "tracer: warning: no traced process wrote any data (was the program run by a Python the shim cannot load, e.g. with -I or -E?)",
    );
    return;
  }
  await deliver(files, { ...options, warnings });
}

async function deliver(
  inputs: (string | CombineSource)[],
  options: DeliverOptions,
): Promise<void> {
  const trace = await combineFiles(inputs, { warnings: options.warnings });
  trace.warnings.push(...lossWarnings(trace.metadata, options.command.trace.tracerEntries));
  let written;
  if (options.outputPath !== null && options.command.output !== null) {
    written = {
      path: options.outputPath,
      ...await writeOutput(trace, options.outputPath, options.command.output),
    };
  } else {
    // --pid_suffix: the files are the result; read them once for the counts.
    for await (const _ of trace.eventText()) { /* counting only, on the byte path */ }
    const paths = inputs as string[];
    let bytes = 0;
    for (const path of paths) bytes += (await Deno.stat(path)).size;
    const name = paths.length === 1 ? paths[0] : join(options.pidSuffixDir!, "result_<pid>.json");
    written = { path: `${name} (${paths.length} files)`, bytes, replaced: false };
  }
  for (const warning of trace.warnings) {
    options.report(warningLine(namedByProcess(warning, options.dataDir)));
  }
  if (!options.command.quiet) options.report(summaryLine(trace.stats, written));
  if (options.outputPath !== null && options.command.output !== null) {
    openIfAsked(options.command.open, options.command.output, options.outputPath, options.report);
  }
}

async function checkTarget(command: RunCommand): Promise<void> {
  if (command.target.kind !== "script") return;
  const path = command.target.path;
  try {
    await Deno.stat(path);
  } catch (error) {
    throw new UsageError(`cannot open script ${path}: no such file`, { cause: error });
  }
}

/**
 * One warning per process that lost events: those past the event cap (naming the option to
 * raise), and those whose recording stopped early (`tracerEnd.lost`: a full disk, ...).
 */
export function lossWarnings(metadata: Record<string, unknown>, cap: number): TraceWarning[] {
  const warnings: TraceWarning[] = [];
  for (const source of sourceRecords(metadata)) {
    const end = readEnd(source.tracerEnd);
    const start = readStart(source.otherData);
    const argv = start.argv?.join(" ") ?? "";
    const process = `process ${start.pid ?? "?"}${argv ? ` (${shorten(argv)})` : ""}`;
    const dropped = end?.droppedEvents ?? 0;
    if (dropped > 0) {
      warnings.push({
        source: process,
        message: `${grouped(dropped)} events dropped past the cap of ${
          grouped(cap)
        } per process; raise --tracer_entries to keep them`,
      });
    }
    if (end?.lost !== undefined) {
      warnings.push({
        source: process,
        message: `recording stopped early: ${end.lost}; the program ran on, untraced from then`,
      });
    }
  }
  return warnings;
}

/** Run-stage files live in a temp dir that is gone afterwards: name the process instead. */
function namedByProcess(warning: TraceWarning, dataDir: string): TraceWarning {
  const match = warning.source?.startsWith(dataDir)
    ? /result_(\d+)(?:_\d+)?\.json$/.exec(warning.source)
    : null;
  return match ? { ...warning, source: `process ${match[1]}` } : warning;
}

function shorten(text: string): string {
  return text.length > 60 ? text.slice(0, 57) + "..." : text;
}
