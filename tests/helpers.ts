/**
 * Shared helpers for end-to-end tests: run the CLI from source, find the Python matrix, temp dirs.
 * @module
 */
import assert from "node:assert/strict";
import type { TraceEvent } from "../lib/trace_event.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { newerPythons } from "../scripts/pythons.ts";
import { decodeModel, inflateBase64, type Model } from "../lib/viewer/model.ts";

/** Absolute path of the repository root. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** Absolute path of `tests/fixtures`. */
export const FIXTURES: string = join(ROOT, "tests", "fixtures");

/** What a finished process left behind. */
export interface RunOutput {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** Options for {@linkcode runCli} and {@linkcode runCommand}. */
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  stdin?: string;
  /** Kills the command when it aborts: a hang-only deadline (`AbortSignal.timeout`). */
  signal?: AbortSignal;
}

/** Runs `deno run -A main.ts ...args` exactly as the compiled binary would run. */
export function runCli(args: string[], options: RunOptions = {}): Promise<RunOutput> {
  return runCommand([Deno.execPath(), "run", "-A", join(ROOT, "main.ts"), ...args], options);
}

/**
 * `stderr` without the line saying the Python core records because no native core was built for
 * this Python (a checkout where `deno task build:native` did not run).
 */
export function withoutCoreNote(stderr: string): string {
  return stderr.replace(/^tracer: recording with the Python core: .*\n/m, "");
}

/** Runs a command (no shell) and collects its exit status and output. */
export async function runCommand(argv: string[], options: RunOptions = {}): Promise<RunOutput> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: options.cwd,
    env: options.env,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const result = await child.output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    signal: result.signal,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
}

/** A private temp dir removed when the returned handle is disposed (`await using`). */
export async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "tracer_test_" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Says on stderr that tests are skipped here and why, in the one form `.ci/run` collects:
 * `tracer-test: skipped: <what>: <why>`.
 */
export function noteSkipped(what: string, why: string): void {
  console.error(`tracer-test: skipped: ${what}: ${why}`);
}

const PYENV_ROOT = Deno.env.get("PYENV_ROOT") ?? join(Deno.env.get("HOME") ?? "/root", ".pyenv");

/** Every CPython the tests run on where it exists: the supported range's ends and the newest. */
export const FULL_MATRIX = ["3.8", "3.11", "3.12", "3.13", "3.14", "3.15"];

/**
 * The Python interpreters of the test matrix that exist here, keyed by "3.8" ... "3.15": pyenv's
 * versions, and the launchers of `deno task pythons` (scripts/pythons.ts) for 3.14 and 3.15.
 */
export function pythonMatrix(versions = FULL_MATRIX): Map<string, string> {
  const found = new Map<string, string>();
  let installed: string[] = [];
  try {
    installed = [...Deno.readDirSync(join(PYENV_ROOT, "versions"))].map((entry) => entry.name);
  } catch { /* no pyenv: only the python3 on PATH */ }
  const newer = newerPythons();
  for (const version of versions) {
    const dir = installed.filter((name) => name === version || name.startsWith(version + "."))
      .sort().pop();
    if (dir) found.set(version, join(PYENV_ROOT, "versions", dir, "bin", "python3"));
    else if (newer.has(version)) found.set(version, newer.get(version)!);
    else {
      noteSkipped(
        `Python ${version} runs`,
        `not under ${PYENV_ROOT}/versions nor provisioned (deno task pythons)`,
      );
    }
  }
  if (found.size === 0) found.set("python3", "python3");
  return found;
}

/**
 * Runs `check` for each Python of `matrix` (pythonMatrix) with each recording core (`python`,
 * `native`); a failure's message names the version and the core.
 */
export async function eachPythonAndCore(
  matrix: Map<string, string>,
  check: (python: string, core: string) => Promise<void>,
): Promise<void> {
  for (const [version, python] of matrix) {
    for (const core of ["python", "native"]) {
      try {
        await check(python, core);
      } catch (error) {
        if (error instanceof Error) error.message = `${version} --core ${core}: ${error.message}`;
        throw error;
      }
    }
  }
}

/** True when a matrix key ("3.14") names CPython `wanted` ("3.12") or newer. */
export function atLeast(version: string, wanted: string): boolean {
  const [major, minor] = version.split(".").map(Number);
  const [wantedMajor, wantedMinor] = wanted.split(".").map(Number);
  return major > wantedMajor || (major === wantedMajor && minor >= wantedMinor);
}

/** The versions of the full matrix that have sys.monitoring (3.12+). */
export const MONITORING_MATRIX: string[] = FULL_MATRIX.filter((v) => atLeast(v, "3.12"));

/**
 * A program of the test venv (TRACER_TEST_VENV: the default python3's, with coverage and
 * pytest-xdist; `deno task test` makes it), or undefined without one.
 */
export function testVenvProgram(program: string): string | undefined {
  const venv = Deno.env.get("TRACER_TEST_VENV");
  return venv ? join(venv, "bin", program) : undefined;
}

/** Reads a JSON file. */
export async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await Deno.readTextFile(path));
}

/** A running CLI whose output is collected as it comes, so a test can wait for a line. */
export interface LiveCli {
  child: Deno.ChildProcess;
  /** Resolves with the match once stdout or stderr (as collected so far) matches `pattern`. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  /** Waits for the end; returns what it printed. */
  done(): Promise<RunOutput>;
}

/** Starts `deno run -A main.ts ...args` (in a new session, `setsid`: no controlling terminal). */
export function spawnCli(args: string[], options: RunOptions = {}): LiveCli {
  const argv = [Deno.execPath(), "run", "-A", join(ROOT, "main.ts"), ...args];
  const child = new Deno.Command("setsid", {
    args: argv,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const text = { stdout: "", stderr: "" };
  const waiters: { pattern: RegExp; resolve: (match: RegExpExecArray) => void }[] = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      const match = waiter.pattern.exec(text.stdout) ?? waiter.pattern.exec(text.stderr);
      if (match !== null) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  };
  const collect = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text[key] += decoder.decode(chunk, { stream: true });
      check();
    }
  };
  const reading = Promise.all([collect(child.stdout, "stdout"), collect(child.stderr, "stderr")]);
  return {
    child,
    waitFor(pattern) {
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        check();
        child.status.then(() =>
          reading.then(() => {
            check();
            if (waiters.some((waiter) => waiter.pattern === pattern)) {
              reject(new Error(`ended before printing ${pattern}:\n${text.stderr}`));
            }
          })
        );
      });
    },
    async done() {
      const status = await child.status;
      await reading;
      return { code: status.code, signal: status.signal, ...text };
    },
  };
}

/**
 * Waits until `condition` holds, checking every 20 ms; the deadline (120 s) only fails a real hang,
 * however slow the machine is.
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
): Promise<void> {
  const deadline = performance.now() + 120_000;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The `traceEvents` of a parsed trace file. */
export function eventsOf(trace: unknown): TraceEvent[] {
  return (trace as { traceEvents: TraceEvent[] }).traceEvents;
}

/** Asserts that tracer said one line on stderr, matching `pattern`, and no stack trace. */
export function assertOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0], /^tracer: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(stderr, /\bat .*\.ts:\d+/);
}

/** Deterministic pseudo-random numbers in [0, 1) from `seed` (mulberry32): the same seed, the same run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The viewer's model of an HTML report, decoded as the page decodes it. */
export async function reportModel(html: string): Promise<Model> {
  const chunks = [...(await Deno.readTextFile(html)).matchAll(/class="tracer-data">([^<]*)</g)]
    .map((match) => match[1]);
  return decodeModel(await inflateBase64(chunks));
}
