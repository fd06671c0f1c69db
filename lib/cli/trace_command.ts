/**
 * `tracer [options] script.py args`: run the program under the shim, then combine the
 * per-process files into the requested output (or leave them, with `--pid_suffix`).
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import type { RunCommand } from "./args.ts";
import type { Target } from "../run/target.ts";
import type { Reporter } from "./_reporter.ts";
import { combineFiles, type CombineSource } from "../combine/combine.ts";
import { convertRawFiles } from "../raw/raw_files.ts";
import { probeRawFiles } from "../combine/raw_source.ts";
import { formatError, reasonOf, shortened, TracerError, UsageError } from "../errors.ts";
import { ensureDir, prepareOutputPath } from "../report/output_file.ts";
import { checkPython, findPython, onPath } from "../run/find_python.ts";
import { tracedEnv } from "../run/python_env.ts";
import {
  KEPT_DIR_PREFIX,
  makeRunDir,
  removeDeadRuns,
  RUN_DIR_PREFIX,
  tempRoot,
} from "../run/run_dir.ts";
import { runProgram } from "../run/run_program.ts";
import { SignalGate, signalNumber } from "../run/signals.ts";
import { writeShim } from "../run/shim.ts";
import { CONFIG_ENV, shimConfigFor, writeConfig } from "../run/shim_config.ts";
import { grouped, replacedLine, skippedLine, summaryLine, warningLine } from "./_summary.ts";
import type { TraceWarning } from "../trace_event.ts";
import { readEnd, readStart, sourceRecords } from "../trace_metadata.ts";
import { writeOutput } from "../report/write_output.ts";
import { deepStackWarnings } from "./_deep_stacks.ts";
import { noteFlight } from "./_flight.ts";
import { FlightSnapshots } from "./_snapshots.ts";
import { openIfAsked } from "./open_report.ts";

/** Runs and traces the program; returns the exit status tracer should end with. */
export async function traceProgram(given: RunCommand, report: Reporter): Promise<number> {
  const env = Deno.env.toObject();
  const command = { ...given, target: resolveTarget(given.target, env) };
  // A command picks its own interpreters; --python is for scripts, modules and code.
  const python = command.target.kind === "command" ? null : findPython(command.python, env);
  if (python !== null) await checkPython(python, command.python, env);
  const outputPath = command.output === null
    ? null
    : await prepareOutputPath(command.output.path, command.outputDir);
  const pidSuffixDir = command.output === null ? resolve(command.outputDir ?? ".") : null;
  if (pidSuffixDir !== null) await ensureDir(pidSuffixDir);

  // From here to the end no termination signal kills tracer between steps (lib/run/signals.ts).
  using signals = new SignalGate();
  await removeDeadRuns();
  const tempDir = await makeRunDir();
  const dataDir = join(tempDir, "data");
  // tracer's lines never name files in the temp dir, which is gone when they are read.
  const tell: Reporter = (line) => report(withoutTempPaths(line, dataDir));
  let kept: string | null = null;
  try {
    const shimDir = await tempFiles(() => writeShim(join(tempDir, "shim")));
    await tempFiles(() => Deno.mkdir(dataDir, { mode: 0o700 }));
    const config = shimConfigFor(command.recording, dataDir, shimDir);
    const configPath = await tempFiles(() => writeConfig(tempDir, config));
    if (signals.first !== null) {
      tell(`tracer: ${signals.first} before the program started: it was not run`);
      return 128 + signalNumber(signals.first);
    }
    // --flight: SIGUSR2 writes a snapshot while the program runs (lib/cli/_snapshots.ts).
    using snapshots = (command.recording.flight_s as number) > 0
      ? new FlightSnapshots({
        dataDir,
        tempDir,
        output: command.output,
        outputPath,
        pidSuffixDir,
        report: tell,
      })
      : null;
    const outcome = await runProgram({
      python,
      target: command.target,
      env: tracedEnv(env, config, configPath),
      marker: `${CONFIG_ENV}=${configPath}\0`,
      dataDir,
      waitTimeoutS: command.waitTimeoutS,
      report: (line) => tell(`tracer: ${line}`),
      signals,
    });
    await snapshots?.close();
    // A signal while the output is written stops it cleanly (lib/report/write_output.ts).
    const stop = new AbortController();
    signals.on(() => stop.abort());
    let exitCode = outcome.exitCode;
    try {
      await collect(outcome.warnings, {
        dataDir,
        outputPath,
        pidSuffixDir,
        command,
        report: tell,
        stop: stop.signal,
      });
    } catch (error) {
      // The program ran: its exit status stands, whatever happened to its trace, unless a
      // signal stopped tracer before the output was written (a script must not read success).
      const stoppedBy = stop.signal.aborted ? signals.first : null;
      if (stoppedBy !== null) exitCode = 128 + signalNumber(stoppedBy);
      if (stoppedBy === null && !(error instanceof WriteFailed)) {
        tell(formatError(error));
      } else {
        kept = await keepData(tempDir, dataDir).catch(() => dataDir);
        report(keptLine(kept, outputPath ?? join(pidSuffixDir!, "result.json"), stoppedBy, error));
      }
    }
    return exitCode;
  } finally {
    if (kept === null) await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
}

/**
 * The line that says why the output was not written (a signal, or the write's failure) and where
 * the recorded data is kept, with the command that finishes the job.
 */
function keptLine(
  kept: string,
  output: string,
  stoppedBy: Deno.Signal | null,
  error: unknown,
): string {
  const what = stoppedBy !== null
    ? `${stoppedBy} while writing the output: stopped, no partial file left`
    : formatError((error as WriteFailed).cause).replace(/^tracer: /, "");
  return `tracer: ${what}; the recorded data is kept in ${kept}; ` +
    `finish with: tracer --combine ${kept} -o ${output}`;
}

/** Writing the output failed (its `cause` says why): the recorded data is kept for later. */
class WriteFailed extends Error {
  constructor(cause: unknown) {
    super("the output could not be written", { cause });
  }
}

/** Runs `write` (of tracer's temp files); a failure is a `TracerError` naming TMPDIR. */
async function tempFiles<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw new TracerError(
      `cannot write tracer's temp files in ${shortened(tempRoot())} (${
        reasonOf(error)
      }); free space there or set TMPDIR to another directory`,
      { cause: error },
    );
  }
}

/** Moves the run's data dir out of the run dir (which is then removed); returns its new path. */
async function keepData(tempDir: string, dataDir: string): Promise<string> {
  const kept = join(dirname(tempDir), basename(tempDir).replace(RUN_DIR_PREFIX, KEPT_DIR_PREFIX));
  await Deno.rename(dataDir, kept);
  await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  return kept;
}

/** Names the process instead of its file in the run's temp dir. */
function withoutTempPaths(line: string, dataDir: string): string {
  return line.replaceAll(
    new RegExp(`${escapeRegExp(dataDir)}/result_(\\d+)[^\\s:;,)]*`, "g"),
    "process $1's trace file",
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** What {@linkcode collect} needs: where the raw files are, what to write, where to report. */
export interface CollectOptions {
  dataDir: string;
  outputPath: string | null;
  pidSuffixDir: string | null;
  command: Pick<RunCommand, "output" | "recording" | "quiet" | "open">;
  report: Reporter;
  /** Aborted by a signal: stop writing (the partial output is removed). */
  stop: AbortSignal;
}

interface DeliverOptions extends CollectOptions {
  warnings: TraceWarning[];
}

/** Reads the run's raw files and writes the output; a process whose file is damaged is skipped. */
export async function collect(runWarnings: TraceWarning[], options: CollectOptions): Promise<void> {
  const { dataDir, pidSuffixDir, report } = options;
  const warnings: TraceWarning[] = [...runWarnings];
  const rawOptions = {
    jsonDir: pidSuffixDir ?? dataDir,
    warnings,
    report: (line: string) => report(`tracer: ${line}`),
    stop: options.stop,
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
  const trace = await combineFiles(inputs, { warnings: options.warnings, stop: options.stop });
  trace.warnings.push(
    ...lossWarnings(trace.metadata, options.command.recording.tracer_entries as number),
  );
  if (options.command.output?.format !== "html") {
    trace.warnings.push(...deepStackWarnings(trace.metadata));
  }
  noteFlight(trace);
  // The output keeps them (otherData.warnings), so a report made from it later shows them too.
  if (trace.warnings.length > 0) trace.metadata.warnings = trace.warnings;
  let written;
  if (options.outputPath !== null && options.command.output !== null) {
    const path = options.outputPath;
    written = {
      path,
      ...await writeOutput(trace, path, options.command.output, options.stop).catch((error) => {
        throw new WriteFailed(error);
      }),
    };
  } else {
    // --pid_suffix: the files are the result; read them once for the counts.
    for await (const _ of trace.eventText()) {
      options.stop.throwIfAborted(); // counting only, on the byte path
    }
    const paths = inputs as string[];
    let bytes = 0;
    for (const path of paths) bytes += (await Deno.stat(path)).size;
    const name = paths.length === 1 ? paths[0] : join(options.pidSuffixDir!, "result_<pid>.json");
    written = { path: `${name} (${paths.length} files)`, bytes, replaced: null };
  }
  for (const warning of trace.warnings) {
    options.report(warningLine(namedByProcess(warning, options.dataDir)));
  }
  const skipped = skippedLine(written.skipped);
  if (skipped !== null) options.report(skipped);
  if (!options.command.quiet) options.report(summaryLine(trace.stats, written));
  else if (replacedLine(written) !== null) options.report(replacedLine(written)!);
  if (options.outputPath !== null && options.command.output !== null) {
    openIfAsked(options.command.open, options.command.output, options.outputPath, options.report);
  }
}

/**
 * A script target that is not a Python source file becomes a command: an executable file that
 * does not end in `.py` (`./run.sh`), or a name found on PATH (`pytest`, `torchrun`, `mpirun`).
 * Any other file is a script, for Python to run. Throws when there is neither file nor command.
 */
export function resolveTarget(target: Target, env: Record<string, string>): Target {
  if (target.kind !== "script") return target;
  const path = target.path;
  let info: Deno.FileInfo | null = null;
  try {
    info = Deno.statSync(path);
  } catch { /* not a file here: a command on PATH? */ }
  if (info !== null) {
    const executable = info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
    if (!executable || /\.pyw?$/.test(path)) return target;
    return { kind: "command", program: path.includes("/") ? path : `./${path}`, args: target.args };
  }
  if (!path.includes("/") && onPath(path, env.PATH ?? "")) {
    return { kind: "command", program: path, args: target.args };
  }
  const what = path.includes("/") ? "no such file" : "no such file, nor a command on PATH";
  throw new UsageError(`cannot open script ${shortened(path)}: ${what}`);
}

/**
 * One warning per process that lost events: those past the event cap (saying what it keeps and
 * naming the option to raise), and those whose recording stopped early (`tracerEnd.lost`: a full
 * disk, ...).
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
        message: `${grouped(dropped)} events dropped past the cap of ${grouped(cap)} per process ` +
          `(the first ${grouped(Math.ceil(cap / 2))} and the last ${
            grouped(Math.floor(cap / 2))
          } calls are kept); raise --tracer_entries to keep them`,
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
