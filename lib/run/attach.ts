/**
 * Attaching to a running CPython 3.14+ process (PEP 768): the scripts it runs through
 * `sys.remote_exec` (`py/_tracer/attach.py` does the work inside it), the interpreter that sends
 * them, and what each refusal means.
 *
 * CPython runs a script at its main thread's next pass through Python code and gives no signal
 * that it has: the script file must stay until it has run. The script writes a status file the
 * CLI waits for; until then the run dir is marked pending (lib/run/run_dir.ts leaves it while the
 * process lives), and a script that is no longer wanted is emptied, never removed. Detaching
 * needs no second script: the process waits on a Unix socket of the CLI's and detaches when it
 * closes, so a killed tracer detaches it too.
 * @module
 */
import { basename, join } from "node:path";
import { reasonOf, shortened, TracerError, UsageError } from "../errors.ts";

/** The oldest CPython with `sys.remote_exec`. */
export const ATTACH_MIN_VERSION = [3, 14] as const;

/** The file in a run dir that names the process an attach script waits in (pid, one line). */
export const PENDING_ATTACH_FILE = "pending_attach";

/** What a script reported, from its status file. */
export interface AttachStatus {
  pid: number;
  /** Why it did nothing (the process runs on untouched). */
  error?: string;
  /** The core recording (`native`, `python`), after a start. */
  core?: string;
  /** Why the native core is not the one recording, if asked for and not. */
  note?: string | null;
}

/** True while process `pid` exists (Linux: its /proc entry). */
export function processExists(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Process `pid`'s command line (for messages), or "" when it cannot be read. */
export function commandLineOf(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter((s) => s !== "")
      .join(" ");
  } catch {
    return "";
  }
}

/**
 * The interpreter that sends the scripts when no `--python` is given: the process's own
 * executable, when it is a `python*` found at the same path here. Throws a `UsageError` saying
 * what to pass otherwise.
 */
export function senderPython(pid: number): string {
  let exe: string;
  try {
    exe = Deno.readLinkSync(`/proc/${pid}/exe`);
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) throw noPtrace(pid);
    throw new UsageError(
      `cannot read process ${pid}'s executable (${reasonOf(error)}); pass --python with the ` +
        `CPython it runs`,
    );
  }
  if (!/^python\d*(\.\d+)?t?$/.test(basename(exe))) {
    throw new UsageError(
      `process ${pid} (${shortened(exe)}) is not a Python interpreter; if it embeds ` +
        `CPython 3.14+, pass --python with an interpreter of the same version`,
    );
  }
  try {
    Deno.statSync(exe);
  } catch {
    throw new UsageError(
      `process ${pid}'s interpreter ${shortened(exe)} is not reachable from here (another ` +
        `root or container); pass --python with an interpreter of the same version`,
    );
  }
  return exe;
}

function noPtrace(pid: number): UsageError {
  return new UsageError(
    `not permitted to debug process ${pid} (ptrace): attach as its user with ptrace allowed ` +
      `(kernel.yama.ptrace_scope 0) or with CAP_SYS_PTRACE`,
  );
}

// Run by the sending interpreter: one line `ok`, or the refusal's kind and message.
const SEND = `import sys
try:
    sys.remote_exec(int(sys.argv[1]), sys.argv[2])
    print("ok")
except BaseException as error:
    kind = "permission" if isinstance(error, PermissionError) else type(error).__name__
    print(kind + "\\t" + " ".join(str(error).split()))`;

/**
 * Has process `pid` run `script` at its next safe point, through `python`'s `sys.remote_exec`;
 * throws a `UsageError` naming the refusal (the process is left untouched).
 */
export async function sendScript(python: string, pid: number, script: string): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(python, {
      args: ["-S", "-E", "-c", SEND, String(pid), script],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    throw new UsageError(`cannot start ${shortened(python)} (${reasonOf(error)})`);
  }
  const line = new TextDecoder().decode(output.stdout).trim();
  if (line === "ok") return;
  const [kind, message = ""] = line.split("\t");
  throw refusal(pid, kind, message, new TextDecoder().decode(output.stderr));
}

function refusal(pid: number, kind: string, message: string, stderr: string): Error {
  if (!processExists(pid)) return new UsageError(`no process ${pid}`);
  if (kind === "permission" || /Operation not permitted|EPERM/.test(message)) {
    return noPtrace(pid);
  }
  if (/Remote debugging is not enabled/.test(message)) {
    return new UsageError(
      `process ${pid} has remote debugging disabled (PYTHON_DISABLE_REMOTE_DEBUG or ` +
        `-X disable-remote-debug); start it without them to attach`,
    );
  }
  const versions = /from a Python (\d+\.\d+)\S* process to a Python (\d+)\.(\d+)/.exec(message);
  if (versions !== null) {
    const [major, minor] = [Number(versions[2]), Number(versions[3])];
    const target = `${major}.${minor}`;
    return major < ATTACH_MIN_VERSION[0] ||
        (major === ATTACH_MIN_VERSION[0] && minor < ATTACH_MIN_VERSION[1])
      ? tooOld(pid, target)
      : new UsageError(
        `process ${pid} runs Python ${target}, --python is ${versions[1]}; pass --python ` +
          `with a Python ${target}`,
      );
  }
  if (/PyRuntime|debug offsets/.test(message)) {
    // CPython before 3.13 has no debug offsets either: name both possibilities.
    return new UsageError(
      `process ${pid} (${shortened(commandLineOf(pid) || "?")}) is not a CPython 3.14+ ` +
        `process (no CPython runtime found in it: not Python, or a CPython older than 3.13)`,
    );
  }
  if (kind === "AttributeError") {
    return new UsageError(`the interpreter has no sys.remote_exec: attaching needs CPython 3.14+`);
  }
  return new TracerError(
    `cannot attach to process ${pid}: ${kind || "no answer"}${message ? `: ${message}` : ""}${
      kind ? "" : ` ${stderr.trim().split("\n").at(-1) ?? ""}`
    }`,
  );
}

/** The refusal of a process whose CPython is older than 3.14. */
export function tooOld(pid: number, version: string): UsageError {
  return new UsageError(
    `process ${pid} runs Python ${version}; attaching needs CPython 3.14 or newer ` +
      `(sys.remote_exec); trace it from its start instead: tracer script.py`,
  );
}

/** A Python string literal of `text` that survives any bytes (hex, decoded as the OS does). */
function literal(text: string): string {
  const hex = [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  return `__import__("os").fsdecode(bytes.fromhex("${hex}"))`;
}

/**
 * The script that starts recording: imports the shim from `shimDir` (on sys.path only for that
 * import) and calls `attach.start`, which connects to the CLI's socket and records until that
 * connection closes. Everything runs in a function, so the script leaves no name behind, and
 * nothing it raises reaches the program.
 */
export function startScript(paths: AttachPaths): string {
  const args = [paths.shimDir, paths.config, paths.socket, paths.started, paths.stopped]
    .map(literal).join(", ");
  return `def _tracer_attach(shim, config, socket, started, stopped):
    import sys
    try:
        sys.path.insert(0, shim)
        try:
            from _tracer import attach
        finally:
            if shim in sys.path:
                sys.path.remove(shim)
        attach.start(config, socket, started, stopped)
    except BaseException as error:
        try:
            with open(started, "x") as file:
                file.write('{"error": %s}' % __import__("json").dumps(repr(error)))
        except BaseException:
            pass
_tracer_attach(${args})
del _tracer_attach
`;
}

/** The files of one attach, all in its run dir. */
export interface AttachPaths {
  shimDir: string;
  config: string;
  /** The CLI's Unix socket: the process detaches when its connection closes. */
  socket: string;
  /** The start script's status file. */
  started: string;
  /** The status file written once the process has detached. */
  stopped: string;
}

/** Writes a script (0600, created exclusively) where the process can read it; returns its path. */
export async function writeScript(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await Deno.writeTextFile(path, text, { mode: 0o600, createNew: true });
  return path;
}

/**
 * Waits for a script's status file, polling; null when `stop` aborted the wait or `gone()` says
 * the process ended. `slow.say` is called once after `slow.ms`, if given.
 */
export async function waitForStatus(
  path: string,
  options: {
    stop: AbortSignal;
    gone: () => boolean;
    slow?: { ms: number; say: () => void };
  },
): Promise<AttachStatus | null> {
  const started = Date.now();
  let told = false;
  while (!options.stop.aborted) {
    try {
      return JSON.parse(await Deno.readTextFile(path)) as AttachStatus;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        return { pid: 0, error: `unreadable status (${reasonOf(error)})` };
      }
    }
    if (options.gone()) return null;
    if (!told && options.slow !== undefined && Date.now() - started >= options.slow.ms) {
      told = true;
      options.slow.say();
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return null;
}

/**
 * Marks the run dir as holding a script process `pid` may still read, before it is sent: no
 * later tracer removes the dir while that process lives, even if this one is killed meanwhile.
 */
export async function markPending(runDir: string, pid: number): Promise<void> {
  await Deno.writeTextFile(join(runDir, PENDING_ATTACH_FILE), `${pid}\n`, { mode: 0o600 });
}

/** The scripts sent have run: the run dir may go. */
export async function clearPending(runDir: string): Promise<void> {
  await Deno.remove(join(runDir, PENDING_ATTACH_FILE)).catch(() => {});
}

/**
 * A script that has not run and is no longer wanted stays, emptied (the process will run
 * nothing), with the run dir marked pending.
 */
export async function emptyScript(script: string): Promise<void> {
  // A rename, so the process reads either script whole, never a half-written one.
  const empty = `${script}.empty`;
  await Deno.writeTextFile(empty, "", { mode: 0o600, createNew: true });
  await Deno.rename(empty, script);
}
