/**
 * Running the traced program: spawn the root Python (or the command) with the traced environment, pass stdio
 * through, forward termination signals, then wait for traced processes that outlive it (until a
 * signal stops the wait).
 * @module
 */
import type { Target } from "./target.ts";
import { describe, waitForTracedProcesses } from "./_process_watch.ts";
import { interruptReachedChild, type SignalGate, signalNumber } from "./signals.ts";
import type { TraceWarning } from "../trace_event.ts";
import { reasonOf } from "../errors.ts";

/** What {@linkcode runProgram} needs. */
export interface RunRequest {
  /** The interpreter of a script, module or code target; null for a command. */
  python: string | null;
  target: Target;
  env: Record<string, string>;
  /** A string only the environment of this run's processes contains. */
  marker: string;
  /** Where the run's per-process files appear. */
  dataDir: string;
  waitTimeoutS: number;
  /** Receives tracer's own status lines (for stderr). */
  report: (line: string) => void;
  /** tracer's signals: forwarded to the program while it runs, then they stop the wait. */
  signals: SignalGate;
}

/** How the run ended. */
export interface RunOutcome {
  /** The root program's exit status; 128+n when a signal n killed it. */
  exitCode: number;
  warnings: TraceWarning[];
}

/** The argv that runs a target: the interpreter's (`python`) for Python targets. */
export function programArgv(target: Target, python: string | null): string[] {
  switch (target.kind) {
    case "command":
      return [target.program, ...target.args];
    case "script":
      return [python!, target.path, ...target.args];
    case "module":
      return [python!, "-m", target.name, ...target.args];
    case "code":
      return [python!, "-c", target.code, ...target.args];
  }
}

/** Runs the program to its end and waits (bounded) for traced processes still running. */
export async function runProgram(request: RunRequest): Promise<RunOutcome> {
  const [program, ...args] = programArgv(request.target, request.python);
  const child = new Deno.Command(program, {
    args,
    env: request.env,
    clearEnv: true,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // Termination requests aimed at tracer go on to the program, SIGINT too (timeout -s INT, an
  // IDE's stop button), except a terminal's Ctrl-C, which already reached the whole process group.
  request.signals.on((signal) => {
    if (signal === "SIGINT" && interruptReachedChild(child.pid)) return;
    try {
      child.kill(signal);
    } catch { /* already gone */ }
  });
  const status = await child.status;
  const stop = new AbortController();
  request.signals.on(() => stop.abort());
  const exitCode = status.signal ? 128 + signalNumber(status.signal) : status.code;

  const warnings: TraceWarning[] = [];
  try {
    const left = await waitForTracedProcesses({
      marker: request.marker,
      dataDir: request.dataDir,
      timeoutS: request.waitTimeoutS,
      report: request.report,
      stop: stop.signal,
    });
    if (left.length > 0) {
      warnings.push({
        message: `stopped waiting for ${left.length} traced process${
          left.length === 1 ? "" : "es"
        } still running (${describe(left)}); their data so far is included`,
      });
    }
  } catch (error) {
    // The program's exit status stands: tracer's own trouble is a warning.
    warnings.push({ message: `could not wait for the traced processes: ${reasonOf(error)}` });
  }
  return { exitCode, warnings };
}
