/**
 * tracer: run a Python program under a tracing shim and show what every thread of every Python
 * process did, on one timeline. The only module that exits the process.
 * @module
 */
import denoJson from "./deno.json" with { type: "json" };
import { parseArgs } from "./lib/cli/args.ts";
import { HELP } from "./lib/cli/options.ts";
import { attachProcess } from "./lib/cli/attach_command.ts";
import { combineCommand } from "./lib/cli/combine_command.ts";
import { exitCodeFor, formatError, terminalText } from "./lib/errors.ts";
import { refuseNonUtf8Args } from "./lib/cli/raw_args.ts";
import { traceProgram } from "./lib/cli/trace_command.ts";
import { writeApi } from "./lib/cli/write_api_command.ts";

/** Runs tracer with `argv`; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  // Every line tracer writes to the terminal: data and file names in it are quoted, not obeyed.
  const report = (line: string) => console.error(terminalText(line));
  try {
    // Only the process's own argv has bytes to check (tests call main with other arrays).
    if (argv === Deno.args) refuseNonUtf8Args(argv);
    const command = parseArgs(argv);
    switch (command.kind) {
      case "help":
        console.log(HELP);
        return 0;
      case "version":
        console.log(`tracer ${denoJson.version}`);
        return 0;
      case "run":
        return await traceProgram(command, report);
      case "combine":
        return await combineCommand(command, report);
      case "attach":
        return await attachProcess(command, report);
      case "write_api":
        return await writeApi(command, report);
    }
  } catch (error) {
    report(formatError(error));
    if (Deno.env.get("TRACER_DEBUG")) console.error(error);
    return exitCodeFor(error);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
