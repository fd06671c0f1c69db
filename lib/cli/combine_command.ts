/**
 * `tracer --combine FILE... -o OUT`: merge trace files into one output. A directory a run left
 * (its `.raw` files, kept after an interrupted write) is read as the run itself would have.
 * @module
 */
import type { CombineCommand } from "./args.ts";
import { noteFlight } from "./_flight.ts";
import { combineFiles, type CombineSource, expandInputs } from "../combine/combine.ts";
import { shortened, TracerError, UsageError } from "../errors.ts";
import { copyStreamInputs } from "../combine/stream_inputs.ts";
import { addWarnings, deepStackWarnings } from "./_deep_stacks.ts";
import { prepareOutputPath } from "../report/output_file.ts";
import { probeRawFiles } from "../combine/raw_source.ts";
import { SignalGate, signalNumber } from "../run/signals.ts";
import { replacedLine, skippedLine, summaryLine, warningLine } from "./_summary.ts";
import type { Reporter } from "./_reporter.ts";
import type { TraceWarning } from "../trace_event.ts";
import { writeOutput } from "../report/write_output.ts";
import { openIfAsked } from "./open_report.ts";

/** Combines the inputs into the output; returns the exit status. */
export async function combineCommand(command: CombineCommand, report: Reporter): Promise<number> {
  const rawDirs: string[] = [];
  const others: string[] = [];
  for (const input of command.inputs) (await holdsRawFiles(input) ? rawDirs : others).push(input);
  const expanded = others.length > 0 ? await expandInputs(others) : [];
  const outputPath = await prepareOutputPath(command.output.path, command.outputDir);
  const clash = await sameFileAs(outputPath, expanded);
  if (clash !== null) {
    throw new UsageError(
      `the output ${shortened(outputPath)} is also an input (${
        shortened(clash)
      }); choose another -o path`,
    );
  }
  using signals = new SignalGate();
  const stop = new AbortController();
  signals.on(() => stop.abort());
  let copyDir: string | null = null;
  try {
    const { paths: inputs, originals } = await copyStreamInputs(
      expanded,
      async () => copyDir = await Deno.makeTempDir({ prefix: "tracer_combine_" }),
      { stop: stop.signal },
    );
    // Messages name a stream as it was given, not its copy.
    const named = (line: string) => {
      for (const [copy, original] of originals) line = line.replaceAll(copy, original);
      return line;
    };
    return await combineAll(command, rawDirs, inputs, {
      outputPath,
      stop: stop.signal,
      signals,
      report: (line) => report(named(line)),
    }).catch((error) => {
      if (error instanceof TracerError) throw new TracerError(named(error.message));
      throw error;
    });
  } catch (error) {
    if (!stop.signal.aborted) throw error;
    report(`tracer: ${signals.first} while reading the inputs: stopped, no output written`);
    return 128 + signalNumber(signals.first!);
  } finally {
    if (copyDir !== null) await Deno.remove(copyDir, { recursive: true }).catch(() => {});
  }
}

interface CombineAllOptions {
  outputPath: string;
  stop: AbortSignal;
  signals: SignalGate;
  report: Reporter;
}

async function combineAll(
  command: CombineCommand,
  rawDirs: string[],
  inputs: string[],
  { outputPath, stop, signals, report }: CombineAllOptions,
): Promise<number> {
  const warnings: TraceWarning[] = [];
  const sources: (string | CombineSource)[] = [];
  for (const dir of rawDirs) {
    sources.push(
      ...await probeRawFiles(dir, {
        jsonDir: dir,
        warnings,
        report: (line) => report(`tracer: ${line}`),
        stop,
      }),
    );
  }
  sources.push(...inputs);
  try {
    const trace = await combineFiles(sources, {
      align: command.align,
      strict: command.strict,
      warnings,
      stop,
    });
    if (command.output.format !== "html") {
      addWarnings(trace.warnings, deepStackWarnings(trace.metadata));
    }
    noteFlight(trace);
    const written = await writeOutput(trace, outputPath, command.output, stop);
    for (const warning of trace.warnings) report(warningLine(warning));
    const skipped = skippedLine(written.skipped);
    if (skipped !== null) report(skipped);
    const output = { path: outputPath, ...written };
    if (!command.quiet) report(summaryLine(trace.stats, output));
    else if (replacedLine(output) !== null) report(replacedLine(output)!);
    openIfAsked(command.open, command.output, outputPath, report);
    return 0;
  } catch (error) {
    if (!stop.aborted) throw error;
    report(`tracer: ${signals.first} while writing ${outputPath}: stopped, no partial file left`);
    return 128 + signalNumber(signals.first!);
  }
}

/** True for a directory holding a run's `result_<pid>.raw` files. */
async function holdsRawFiles(path: string): Promise<boolean> {
  const stat = await Deno.stat(path).catch(() => null);
  if (!stat?.isDirectory) return false;
  try {
    for await (const entry of Deno.readDir(path)) {
      if (/^result_\d+(_\d+)?\.raw$/.test(entry.name)) return true;
    }
  } catch { /* unreadable: expandInputs says so */ }
  return false;
}

async function sameFileAs(path: string, inputs: string[]): Promise<string | null> {
  let target: string;
  try {
    target = await Deno.realPath(path);
  } catch {
    return null;
  }
  for (const input of inputs) {
    if (await Deno.realPath(input).catch(() => input) === target) return input;
  }
  return null;
}
