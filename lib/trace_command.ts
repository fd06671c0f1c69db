/**
 * `tracer [options] script.py args`: run the program under the shim, then combine the
 * per-process files into the requested output (or leave them, with `--pid_suffix`).
 * @module
 */
import { join, resolve } from "node:path";
import type { RunCommand } from "./args.ts";
import { combineFiles, type FileProbe } from "./combine.ts";
import { convertRawFiles, probeRawFiles } from "./raw_files.ts";
import { UsageError } from "./errors.ts";
import { ensureDir, prepareOutputPath } from "./output_file.ts";
import { findPython } from "./python.ts";
import { tracedEnv } from "./python_env.ts";
import { runProgram } from "./run.ts";
import { writeShim } from "./shim.ts";
import type { ShimConfig } from "./shim_config.ts";
import { grouped, summaryLine, warningLine } from "./summary.ts";
import type { TraceWarning } from "./trace_event.ts";
import { writeOutput } from "./write_output.ts";

/** Where tracer's own lines go (stderr in the CLI). */
export type Reporter = (line: string) => void;

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
    const warnings: TraceWarning[] = [...outcome.warnings];
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
      report(
        "tracer: warning: no traced process wrote any data (was the program run by a Python the shim cannot load, e.g. with -I or -E?)",
      );
      return outcome.exitCode;
    }
    try {
      await deliver(files, {
        dataDir,
        outputPath,
        pidSuffixDir,
        command,
        warnings,
        report,
      });
    } catch (error) {
      if (outcome.exitCode !== 0) {
        report(`tracer: ${(error as Error).message}`);
        return outcome.exitCode;
      }
      throw error;
    }
    return outcome.exitCode;
  } finally {
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
}

interface DeliverOptions {
  dataDir: string;
  outputPath: string | null;
  pidSuffixDir: string | null;
  command: RunCommand;
  warnings: TraceWarning[];
  report: Reporter;
}

async function deliver(inputs: (string | FileProbe)[], options: DeliverOptions): Promise<void> {
  const trace = await combineFiles(inputs, { warnings: options.warnings });
  trace.warnings.push(...capWarnings(trace.metadata, options.command.trace.tracerEntries));
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

/** One warning per process that hit the event cap, naming it and the option to raise. */
export function capWarnings(metadata: Record<string, unknown>, cap: number): TraceWarning[] {
  const sources = Array.isArray(metadata.sources) ? metadata.sources : [];
  const warnings: TraceWarning[] = [];
  for (const source of sources as Record<string, unknown>[]) {
    const end = source.tracerEnd as { dropped_events?: unknown } | undefined;
    const dropped = end?.dropped_events;
    if (typeof dropped !== "number" || dropped <= 0) continue;
    const start = source.otherData as { pid?: unknown; argv?: unknown } | undefined;
    const argv = Array.isArray(start?.argv) ? start.argv.join(" ") : "";
    warnings.push({
      source: `process ${start?.pid ?? "?"}${argv ? ` (${shorten(argv)})` : ""}`,
      message: `${grouped(dropped)} events dropped past the cap of ${
        grouped(cap)
      } per process; raise --tracer_entries to keep them`,
    });
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
