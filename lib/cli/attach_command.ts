/**
 * `tracer attach PID`: record a running CPython 3.14+ process for `--duration` seconds or until
 * Ctrl-C, then detach it and write the output a run would have written (lib/run/attach.ts has
 * the scripts it runs in the process).
 * @module
 */
import { join } from "node:path";
import type { AttachCommand } from "./args.ts";
import type { Reporter } from "./_reporter.ts";
import { collect } from "./trace_command.ts";
import { FlightSnapshots } from "./_snapshots.ts";
import { formatError, shortened, UsageError } from "../errors.ts";
import { prepareOutputPath } from "../report/output_file.ts";
import { checkPython, findPython } from "../run/find_python.ts";
import {
  ATTACH_MIN_VERSION,
  type AttachPaths,
  type AttachStatus,
  clearPending,
  commandLineOf,
  emptyScript,
  markPending,
  processExists,
  senderPython,
  sendScript,
  startScript,
  tooOld,
  waitForStatus,
  writeScript,
} from "../run/attach.ts";
import { makeRunDir, removeDeadRuns } from "../run/run_dir.ts";
import { SignalGate, signalNumber } from "../run/signals.ts";
import { writeShim } from "../run/shim.ts";
import { shimConfigFor, writeConfig } from "../run/shim_config.ts";

/** How long a detach may take before tracer writes what it has (the process stops by itself). */
const DETACH_TIMEOUT_MS = 10_000;
/** After this long without the start script having run, tracer says what it waits for. */
const SLOW_START_MS = 2_000;

/** Attaches, records, detaches and writes the output; returns tracer's exit status. */
export async function attachProcess(command: AttachCommand, report: Reporter): Promise<number> {
  const pid = command.pid;
  if (Deno.build.os !== "linux") throw new UsageError("tracer attach works on Linux only");
  if (!processExists(pid)) throw new UsageError(`no process ${pid}`);
  const env = Deno.env.toObject();
  const python = command.python === null ? senderPython(pid) : findPython(command.python, env);
  const [major, minor] = await checkPython(python, command.python, env);
  if (major === 3 && minor < ATTACH_MIN_VERSION[1]) {
    if (command.python === null) throw tooOld(pid, `${major}.${minor}`);
    throw new UsageError(
      `--python ${shortened(command.python)} is Python ${major}.${minor}; attaching needs ` +
        `a CPython 3.14 or newer, the version of process ${pid}`,
    );
  }
  const outputPath = await prepareOutputPath(command.output.path, command.outputDir);

  using signals = new SignalGate();
  await removeDeadRuns();
  const runDir = await makeRunDir();
  let keepRunDir = false; // a script the process has not run yet must stay (lib/run/attach.ts)
  try {
    const dataDir = join(runDir, "data");
    await Deno.mkdir(dataDir, { mode: 0o700 });
    const shimDir = await writeShim(join(runDir, "shim"));
    const configPath = await writeConfig(
      runDir,
      shimConfigFor(command.recording, dataDir, shimDir),
    );
    const paths: AttachPaths = {
      shimDir,
      config: configPath,
      socket: join(runDir, "attach.sock"),
      started: join(runDir, "started.json"),
      stopped: join(runDir, "stopped.json"),
    };
    using listener = Deno.listen({ transport: "unix", path: paths.socket });
    const accepted = listener.accept();
    accepted.catch(() => {}); // never accepted when the script does not run: the listener closes
    const start = await writeScript(runDir, "start.py", startScript(paths));
    await markPending(runDir, pid);
    keepRunDir = true;
    try {
      await sendScript(python, pid, start);
    } catch (error) {
      if (error instanceof UsageError) keepRunDir = false; // refused: nothing was sent
      throw error;
    }
    const waiting = new AbortController();
    signals.on(() => waiting.abort());
    const started = await waitForStatus(paths.started, {
      stop: waiting.signal,
      gone: () => !processExists(pid),
      slow: {
        ms: SLOW_START_MS,
        say: () =>
          report(
            `tracer: waiting for process ${pid}'s main thread to run Python code (the attach ` +
              `runs there); Ctrl-C gives up`,
          ),
      },
    });
    if (started === null) return await gaveUp(runDir, start, pid, signals, report);
    keepRunDir = false;
    await clearPending(runDir);
    if (started.error !== undefined) {
      report(`tracer: process ${pid} could not start recording: ${started.error}; it runs on`);
      return 1;
    }
    if (!command.quiet) report(attachedLine(pid, command.durationS));
    if (started.note) report(`tracer: recording with the Python core: ${started.note}`);

    // Connected before the status was written; closing it detaches the process.
    const connection = await accepted;
    // --flight: SIGUSR2 writes a snapshot while attached, as in a run (lib/cli/_snapshots.ts).
    using snapshots = (command.recording.flight_s as number) > 0
      ? new FlightSnapshots({
        dataDir,
        tempDir: runDir,
        output: command.output,
        outputPath,
        pidSuffixDir: null,
        report,
      })
      : null;
    const ended = await recordingWindow(pid, command.durationS, signals);
    if (ended === "exited") {
      connection.close();
      report(`tracer: process ${pid} ended while attached`);
    } else {
      await detach(connection, pid, paths.stopped, signals, report);
    }
    await snapshots?.close();

    const stop = new AbortController();
    signals.on(() => stop.abort());
    try {
      await collect([], {
        dataDir,
        outputPath,
        pidSuffixDir: null,
        command,
        report,
        stop: stop.signal,
      });
    } catch (error) {
      if (stop.signal.aborted && signals.first !== null) {
        report(`tracer: ${signals.first} while writing the output: stopped`);
        return 128 + signalNumber(signals.first);
      }
      report(formatError((error as Error).cause ?? error));
      return 1;
    }
    return 0;
  } finally {
    if (!keepRunDir) await Deno.remove(runDir, { recursive: true }).catch(() => {});
  }
}

function attachedLine(pid: number, durationS: number | null): string {
  const what = shortened(commandLineOf(pid) || "?", 60);
  const until = durationS === null ? "until Ctrl-C" : `for ${durationS} s`;
  return `tracer: attached to process ${pid} (${what}); recording ${until}`;
}

/** The start script never ran (Ctrl-C, or the process ended first). */
async function gaveUp(
  runDir: string,
  start: string,
  pid: number,
  signals: SignalGate,
  report: Reporter,
): Promise<number> {
  if (!processExists(pid)) {
    await clearPending(runDir);
    report(`tracer: process ${pid} ended before it ran the attach`);
    return 1;
  }
  await emptyScript(start);
  report(
    `tracer: gave up attaching to process ${pid}; it will run an empty script when its main ` +
      `thread next runs Python code`,
  );
  return 128 + signalNumber(signals.first ?? "SIGINT");
}

/** Waits out the recording window: its duration, a termination signal, or the process's end. */
async function recordingWindow(
  pid: number,
  durationS: number | null,
  signals: SignalGate,
): Promise<"done" | "exited"> {
  const stop = new AbortController();
  signals.on(() => stop.abort());
  const until = durationS === null ? Infinity : Date.now() + durationS * 1000;
  while (!stop.signal.aborted && Date.now() < until) {
    if (!processExists(pid)) return "exited";
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, until - Date.now())));
  }
  return "done";
}

/**
 * Closes the connection, which has the process stop recording and finish its file, and waits
 * (bounded) until it says it has.
 */
async function detach(
  connection: Deno.UnixConn,
  pid: number,
  stoppedPath: string,
  signals: SignalGate,
  report: Reporter,
): Promise<void> {
  connection.close();
  const waiting = new AbortController();
  signals.on(() => waiting.abort());
  const timer = setTimeout(() => waiting.abort(), DETACH_TIMEOUT_MS);
  let stopped: AttachStatus | null;
  try {
    stopped = await waitForStatus(stoppedPath, {
      stop: waiting.signal,
      gone: () => !processExists(pid),
    });
  } finally {
    clearTimeout(timer);
  }
  if (stopped === null && processExists(pid)) {
    report(`tracer: process ${pid} did not say it detached; the output has its data so far`);
  } else if (stopped?.error !== undefined) {
    report(`tracer: detaching: ${stopped.error}`);
  }
}
