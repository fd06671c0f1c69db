/**
 * `tracer --combine FILE... -o OUT`: merge trace files into one output.
 * @module
 */
import type { CombineCommand } from "./args.ts";
import { combineFiles, expandInputs } from "../combine/combine.ts";
import { UsageError } from "../errors.ts";
import { prepareOutputPath } from "../report/output_file.ts";
import { summaryLine, warningLine } from "./_summary.ts";
import type { Reporter } from "./_reporter.ts";
import { writeOutput } from "../report/write_output.ts";
import { openIfAsked } from "./open_report.ts";

/** Combines the inputs into the output; returns the exit status. */
export async function combineCommand(command: CombineCommand, report: Reporter): Promise<number> {
  const inputs = await expandInputs(command.inputs);
  const outputPath = await prepareOutputPath(command.output.path, command.outputDir);
  const clash = await sameFileAs(outputPath, inputs);
  if (clash !== null) {
    throw new UsageError(
      `the output ${outputPath} is also an input (${clash}); choose another -o path`,
    );
  }
  const trace = await combineFiles(inputs, { align: command.align, strict: command.strict });
  const written = await writeOutput(trace, outputPath, command.output);
  for (const warning of trace.warnings) report(warningLine(warning));
  if (!command.quiet) report(summaryLine(trace.stats, { path: outputPath, ...written }));
  openIfAsked(command.open, command.output, outputPath, report);
  return 0;
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
