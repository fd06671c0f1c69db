/**
 * Running the traced program: spawn the root Python with the traced environment, pass stdio
 * through, forward termination signals, then wait for traced processes that outlive it.
 * @module
 */
import { constants } from "node:os";
import type { Target } from "../cli/args.ts";
import { describe, waitForTracedProcesses } from "./_process_watch.ts";
import type { TraceWarning } from "../trace_event.ts";

/** What {@linkcode runProgram} needs. */
export interface RunRequest {
  python: string;
  target: Target;
  env: Record<string, string>;
  /** A string only the environment of this run's processes contains. */
  marker: string;
  /** Where the run's per-process files appear. */
  dataDir: string;
  waitTimeoutS: number;
  /** Receives tracer's own status lines (for stderr). */
  report: (line: string) => void;
}

/** How the run ended. */
export interface RunOutcome {
  /** The root program's exit status; 128+n when a signal n killed it. */
  exitCode: number;
  warnings: TraceWarning[];
}

/** The Python argv (after the interpreter) for a target. */
export function pythonArgs(target: Target): string[] {
  switch (target.kind) {
    case "script":
      return [target.path, ...target.args];
    case "module":
      return ["-m", target.name, ...target.args];
    case "code":
      return ["-c", target.code, ...target.args];
  }
}

// Termination requests aimed at tracer go on to the program. SIGINT is not forwarded: a Ctrl-C
// from the terminal already reaches the program's whole process group; tracer just outlives it.
const FORWARDED: Deno.Signal[] = ["SIGTERM", "SIGHUP"];

/** Runs the program to its end and waits (bounded) for traced processes still running. */
export async function runProgram(request: RunRequest): Promise<RunOutcome> {
  const child = new Deno.Command(request.python, {
    args: pythonArgs(request.target),
    env: request.env,
    clearEnv: true,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const forward = new Map<Deno.Signal, () => void>();
  const ignoreInterrupt = () => {};
  Deno.addSignalListener("SIGINT", ignoreInterrupt);
  for (const signal of FORWARDED) {
    const handler = () => {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
    };
    forward.set(signal, handler);
    Deno.addSignalListener(signal, handler);
  }
  let status: Deno.CommandStatus;
  try {
    status = await child.status;
  } finally {
    for (const [signal, handler] of forward) Deno.removeSignalListener(signal, handler);
    Deno.removeSignalListener("SIGINT", ignoreInterrupt);
  }
  const exitCode = status.signal ? 128 + signalNumber(status.signal) : status.code;

  const warnings: TraceWarning[] = [];
  const left = await waitForTracedProcesses({
    marker: request.marker,
    dataDir: request.dataDir,
    timeoutS: request.waitTimeoutS,
    report: request.report,
  });
  if (left.length > 0) {
    warnings.push({
      message: `stopped waiting for ${left.length} traced process${
        left.length === 1 ? "" : "es"
      } still running (${describe(left)}); their data so far is included`,
    });
  }
  return { exitCode, warnings };
}

function signalNumber(signal: Deno.Signal): number {
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}
