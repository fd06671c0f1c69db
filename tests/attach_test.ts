/**
 * `tracer attach PID` (issue 23): a CPython 3.14/3.15 program started without tracer, with two
 * threads, is recorded for a while through sys.remote_exec with both cores, then runs on with
 * nothing of tracer left active; and each refusal is one line, exit status 2, the process
 * untouched.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertOneLineError,
  FIXTURES,
  noteSkipped,
  pythonMatrix,
  readJson,
  ROOT,
  runCli,
  runCommand,
  type RunOutput,
  spawnCli,
  tempDir,
  waitUntil,
} from "./helpers.ts";
import { nativeLibs, PLATFORM } from "../lib/run/native.ts";
import type { TraceEvent } from "../lib/trace_event.ts";

const TARGET = join(FIXTURES, "attach", "target.py");
const NEWER = pythonMatrix(["3.14", "3.15"]);
const LIBS = await nativeLibs();
const BUILT = LIBS !== null && LIBS.platform === PLATFORM ? Object.keys(LIBS.libs) : [];

/** A target program running untraced: its pid, its output lines as they come, its end. */
interface Target {
  pid: number;
  lines: string[];
  /** Resolves with the first line (so far or later) matching `pattern`. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  /** Has it report what it sees of tracer and end; returns that report and its stderr. */
  finish(): Promise<{ report: Record<string, unknown>; stderr: string; code: number }>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function startTarget(
  python: string,
  args: string[] = [],
  mode: string[] = [],
): Promise<Target> {
  const dir = await Deno.makeTempDir({ prefix: "attach_target_" });
  const stop = join(dir, "stop");
  const child = new Deno.Command(python, {
    args: [...args, TARGET, stop, ...mode],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      for (const line of lines) {
        const match = waiter.pattern.exec(line);
        if (match === null) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
        break;
      }
    }
  };
  const reading = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      lines.push(...parts);
      check();
    }
  })();
  const stderr = new Response(child.stderr).text();
  const waitFor = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      waiters.push({ pattern, resolve });
      check();
      child.status.then(() =>
        reading.then(() => {
          check();
          if (waiters.some((w) => w.pattern === pattern)) {
            reject(new Error(`target ended before printing ${pattern}`));
          }
        })
      );
    });
  const pid = Number((await waitFor(/^pid (\d+)$/))[1]);
  let finished = false;
  return {
    pid,
    lines,
    waitFor,
    async finish() {
      finished = true;
      await Deno.writeTextFile(stop, "");
      const status = await child.status;
      await reading;
      const end = lines.find((line) => line.startsWith("end "));
      await Deno.remove(dir, { recursive: true });
      return {
        report: end ? JSON.parse(end.slice(4)) : {},
        stderr: await stderr,
        code: status.code,
      };
    },
    async [Symbol.asyncDispose]() {
      if (finished) return;
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      await reading.catch(() => {});
      await stderr.catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** `tracer attach PID --duration S ...args`: always a deadline, never until Ctrl-C. */
function attach(pid: number, seconds: number, ...args: string[]): Promise<RunOutput> {
  return runCli(["attach", String(pid), "--duration", String(seconds), ...args]);
}

/**
 * The target's latest progress line: calls made by its main thread and its ticker, the
 * sys.monitoring tool ids in use, the forks whose child ended well.
 */
function progress(target: Target): [main: number, ticker: number, tools: number, forks: number] {
  const line = target.lines.findLast((l) => l.startsWith("progress "));
  if (line === undefined) return [0, 0, 0, 0];
  const [, main, ticker, tools, forks] = line.split(" ").map(Number);
  return [main, ticker, tools, forks];
}

function ticks(events: TraceEvent[], tid: number): TraceEvent[] {
  return events.filter((e) => e.ph === "X" && e.tid === tid && String(e.name).startsWith("tick ("));
}

for (const [version, python] of NEWER) {
  const cores = BUILT.includes(`cp${version.replace(".", "")}`) ? ["python", "native"] : ["python"];
  if (!cores.includes("native")) {
    noteSkipped(`attach with the native core on ${version}`, "not built");
  }
  for (const core of cores) {
    Deno.test(`attach to a running ${version} program with two threads (${core} core)`, async () => {
      await using target = await startTarget(python);
      await using dir = await tempDir();
      const out = join(dir.path, "out.json");
      await target.waitFor(/^progress /);
      const run = await attach(target.pid, 1, "--python", python, "--core", core, "-o", out);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(
          `attached to process ${target.pid} \\(\\S+python${version} .*; recording for 1 s`,
        ),
      );
      const afterDetach = progress(target);

      const trace = await readJson(out) as {
        traceEvents: TraceEvent[];
        otherData: { sources: { otherData: { core: string }; tracerEnd: { exit: string } }[] };
      };
      const events = trace.traceEvents;
      const source = trace.otherData.sources[0];
      assert.equal(source.otherData.core, core);
      assert.equal(source.tracerEnd.exit, "detached");
      const names = new Map(
        events.filter((e) => e.ph === "M" && e.name === "thread_name").map((e) => [
          e.args!.name,
          e.tid,
        ]),
      );
      assert.deepEqual([...names.keys()].sort(), ["MainThread", "ticker"], "no thread of tracer's");
      assert.equal(names.get("MainThread"), target.pid);
      const process = events.find((e) => e.ph === "M" && e.name === "process_name");
      assert.match(String(process?.args?.name), /target\.py/);
      // The calls made during the window, on both threads (2 ms apart: hundreds in 1 s).
      for (const thread of ["MainThread", "ticker"]) {
        const made = ticks(events, names.get(thread) as number);
        assert.ok(made.length > 50, `${thread}: ${made.length} calls of tick in the window`);
        for (const call of made) assert.equal(call.pid, target.pid);
      }
      // C calls made straight from the frames already running when the attach came.
      assert.ok(events.some((e) => e.ph === "X" && e.name === "time.sleep"), "time.sleep");
      const span = Math.max(...events.filter((e) => e.ph === "X").map((e) => e.ts! + e.dur!));
      assert.ok(span > 800_000 && span < 5_000_000, `recorded for about 1 s: ${span} us`);

      // The program goes on after the detach, with nothing of tracer left active.
      await waitUntil(() => progress(target)[0] > afterDetach[0] + 20, "progress after the detach");
      const [main, ticker] = progress(target);
      assert.ok(main > afterDetach[0] && ticker > afterDetach[1], "progress after the detach");
      const end = await target.finish();
      assert.equal(end.code, 0);
      assert.equal(end.stderr, "", "nothing written into the program's stderr");
      assert.deepEqual(end.report.tools, [null, null, null, null, null, null], "tool ids free");
      assert.deepEqual(end.report.modules, [], "the shim's modules are gone");
      assert.deepEqual(end.report.threads, ["MainThread", "ticker"]);
      assert.equal(end.report.tasks, 2, "tracer's watcher thread has ended");
      assert.equal(end.report.path_same, true, "sys.path as before");
      assert.equal(end.report.gc_callbacks, 0);
    });
  }
}

/** The X events of tick() in a trace file, and its tracerEnd. */
async function tickCalls(path: string): Promise<{ calls: TraceEvent[]; exit: string }> {
  const trace = await readJson(path) as {
    traceEvents: TraceEvent[];
    otherData: { sources: { tracerEnd: { exit: string } }[] };
  };
  const calls = trace.traceEvents.filter((e) =>
    e.ph === "X" && String(e.name).startsWith("tick (")
  );
  return { calls, exit: trace.otherData.sources[0].tracerEnd.exit };
}

const [lastVersion, lastPython] = [...NEWER].at(-1) ?? [];
if (lastPython !== undefined) {
  Deno.test(`attach twice with values and gc passes, forks while attached (${lastVersion})`, async () => {
    await using target = await startTarget(lastPython, [], ["fork"]);
    await using dir = await tempDir();
    await target.waitFor(/^progress /);
    const rounds: [string, string[]][] = [["first", ["--log_func_args", "--log_gc"]], [
      "second",
      [],
    ]];
    for (const [round, options] of rounds) {
      const out = join(dir.path, `${round}.json`);
      const run = await attach(target.pid, 1, "--python", lastPython, "-q", "-o", out, ...options);
      assert.equal(run.code, 0, run.stderr);
      const { calls, exit } = await tickCalls(out);
      assert.equal(exit, "detached", round);
      // Only the attached process: its fork children stop recording at once.
      assert.deepEqual([...new Set(calls.map((e) => e.pid))], [target.pid], round);
      assert.ok(calls.length > 50, `${round}: ${calls.length} calls`);
      const withArgs = calls.filter((e) => e.args?.func_args !== undefined).length;
      assert.equal(withArgs, round === "first" ? calls.length : 0, `${round}: arguments`);
    }
    const forks = progress(target)[3];
    await waitUntil(() => progress(target)[3] > forks + 2, "forks after the detach");
    const end = await target.finish();
    assert.equal(end.stderr, "");
    assert.deepEqual(end.report.tools, [null, null, null, null, null, null]);
    assert.deepEqual(end.report.modules, []);
    assert.equal(end.report.gc_callbacks, 0, "the gc callback is gone");
    assert.equal(end.report.tasks, 2);
  });

  Deno.test(`Ctrl-C ends the recording; a killed tracer detaches the process (${lastVersion})`, async () => {
    await using target = await startTarget(lastPython);
    await using dir = await tempDir();
    const out = join(dir.path, "out.json");
    await target.waitFor(/^progress /);
    const interrupted = spawnCli(["attach", String(target.pid), "--python", lastPython, "-o", out]);
    await interrupted.waitFor(/recording until Ctrl-C/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    interrupted.child.kill("SIGINT");
    const run = await interrupted.done();
    assert.equal(run.code, 0, run.stderr);
    const { calls, exit } = await tickCalls(out);
    assert.equal(exit, "detached");
    assert.ok(calls.length > 20, `${calls.length} calls`);
    await waitUntil(() => progress(target)[2] === 0, "the tool id given back");

    const killed = spawnCli(["attach", String(target.pid), "--python", lastPython, "-o", out]);
    await killed.waitFor(/recording until Ctrl-C/);
    await waitUntil(() => progress(target)[2] === 1, "recording");
    killed.child.kill("SIGKILL");
    await killed.done();
    // The process's end of the socket sees the CLI gone: it detaches by itself.
    await waitUntil(() => progress(target)[2] === 0, "the detach of a process whose tracer died");
    const end = await target.finish();
    assert.equal(end.stderr, "");
    assert.deepEqual(end.report.modules, []);
    assert.equal(end.report.tasks, 2);
  });
}

if (lastPython !== undefined) {
  Deno.test(`attach --flight: a SIGUSR2 snapshot while attached, then the last S s (${lastVersion})`, async () => {
    await using target = await startTarget(lastPython);
    await using dir = await tempDir();
    const out = join(dir.path, "out.json");
    await target.waitFor(/^progress /);
    const cli = spawnCli([
      "attach",
      String(target.pid),
      "--flight",
      "0.5",
      "--python",
      lastPython,
      "-o",
      out,
    ]);
    await cli.waitFor(/recording until Ctrl-C/);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    Deno.kill(cli.child.pid, "SIGUSR2");
    const [, snapshot] = await cli.waitFor(/flight snapshot: .* events -> (\S+)/);
    assert.equal(snapshot, join(dir.path, "out.flight-1.json"));
    cli.child.kill("SIGINT");
    const run = await cli.done();
    assert.equal(run.code, 0, run.stderr);
    for (const path of [snapshot, out]) {
      const { calls } = await tickCalls(path);
      const start = Math.min(...calls.map((e) => e.ts!));
      const end = Math.max(...calls.map((e) => e.ts! + e.dur!));
      assert.ok(calls.length > 20, `${path}: ${calls.length} calls`);
      assert.ok(end - start <= 520_000, `${path}: only the last 0.5 s: ${end - start} us`);
    }
    const end = await target.finish();
    assert.equal(end.stderr, "");
    assert.deepEqual(end.report.tools, [null, null, null, null, null, null]);
  });

  Deno.test(`giving up on a process whose main thread runs no Python code (${lastVersion})`, async () => {
    await using tmp = await tempDir();
    const sleeper = new Deno.Command(lastPython, {
      args: ["-c", "import os, time; print(os.getpid(), flush=True); time.sleep(4); print('woke')"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(sleeper.stderr).text();
    const reader = sleeper.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let printed = "";
    const readUntil = async (done: (text: string) => boolean) => {
      while (!done(printed)) {
        const chunk = await reader.read();
        if (chunk.done) break;
        printed += chunk.value;
      }
    };
    await readUntil((text) => text.includes("\n"));
    const pid = Number(printed.trim());
    const attaching = spawnCli(["attach", String(pid), "--python", lastPython], {
      env: { TMPDIR: tmp.path },
    });
    await attaching.waitFor(/waiting for process \d+'s main thread to run Python code/);
    attaching.child.kill("SIGINT");
    const run = await attaching.done();
    assert.equal(run.code, 130, run.stderr);
    assert.match(run.stderr, /gave up attaching to process \d+; it will run an empty script/);
    // The script stays, emptied, in a run dir no tracer removes while the process lives.
    const [left] = [...Deno.readDirSync(tmp.path)].map((entry) => join(tmp.path, entry.name));
    assert.equal(await Deno.readTextFile(join(left, "start.py")), "");
    assert.equal((await Deno.readTextFile(join(left, "pending_attach"))).trim(), String(pid));
    await readUntil(() => false);
    assert.equal(printed, `${pid}\nwoke\n`);
    assert.equal((await sleeper.status).code, 0);
    assert.equal(await stderr, "", "the empty script ran quietly");
  });
}

// --- refusals: one line each, exit status 2, the process untouched --------------------------

async function refused(run: RunOutput, pattern: RegExp, target?: Target): Promise<void> {
  assert.equal(run.code, 2, run.stderr);
  assertOneLineError(run.stderr, pattern);
  if (target !== undefined) {
    const before = progress(target)[0];
    await waitUntil(() => progress(target)[0] > before + 5, "progress after the refusal");
    const end = await target.finish();
    assert.equal(end.code, 0);
    assert.equal(end.stderr, "", "the process was not touched");
    assert.deepEqual(end.report.modules, []);
  }
}

const newest = [...NEWER].at(-1);
const older = pythonMatrix(["3.11", "3.13"]);

if (newest !== undefined) {
  const [newestVersion, newestPython] = newest;

  Deno.test("attach refuses a pid that does not exist", async () => {
    const gone = new Deno.Command("true").spawn();
    await gone.status;
    await refused(
      await attach(gone.pid, 2, "--python", newestPython),
      new RegExp(`no process ${gone.pid}$`),
    );
  });

  Deno.test("attach refuses a process that is not Python", async () => {
    const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      await refused(
        await attach(sleeper.pid, 2),
        /process \d+ \(.*sleep\) is not a Python interpreter/,
      );
      await refused(
        await attach(sleeper.pid, 2, "--python", newestPython),
        /process \d+ \(\S*sleep 30\) is not a CPython 3\.14\+ process/,
      );
    } finally {
      sleeper.kill("SIGKILL");
      await sleeper.status;
    }
  });

  for (const [version, python] of older) {
    Deno.test(`attach refuses a CPython ${version} process: 3.14 or newer is needed`, async () => {
      await using target = await startTarget(python);
      // 3.11 by its own interpreter; 3.13 by what sys.remote_exec of the newest one says.
      const args = version === "3.13" ? ["--python", newestPython] : [];
      await refused(
        await attach(target.pid, 2, ...args),
        new RegExp(`process ${target.pid} runs Python ${version}; attaching needs CPython 3\\.14`),
        target,
      );
    });
  }

  for (
    const [how, args, env] of [
      ["-X disable-remote-debug", ["-X", "disable-remote-debug"], {}],
      ["PYTHON_DISABLE_REMOTE_DEBUG=1", [], { PYTHON_DISABLE_REMOTE_DEBUG: "1" }],
    ] as const
  ) {
    Deno.test(`attach refuses a ${newestVersion} process with ${how}`, async () => {
      const saved = Deno.env.get("PYTHON_DISABLE_REMOTE_DEBUG");
      for (const [key, value] of Object.entries(env)) Deno.env.set(key, value);
      let target: Target;
      try {
        target = await startTarget(newestPython, [...args]);
      } finally {
        if (saved === undefined) Deno.env.delete("PYTHON_DISABLE_REMOTE_DEBUG");
      }
      await using _target = target;
      await refused(
        await attach(target.pid, 2, "--python", newestPython),
        /has remote debugging disabled/,
        target,
      );
    });
  }

  Deno.test("attach refuses a process it may not ptrace", async () => {
    // Not dumpable, and tracer without CAP_SYS_PTRACE (root keeps every other capability).
    await using target = await startTarget(newestPython, [
      "-c",
      "import ctypes, runpy, sys; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); " +
      "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
    ]);
    const run = await runCommand([
      "setpriv",
      "--bounding-set",
      "-sys_ptrace",
      "--inh-caps",
      "-sys_ptrace",
      Deno.execPath(),
      "run",
      "-A",
      join(ROOT, "main.ts"),
      "attach",
      String(target.pid),
      "--duration",
      "2",
      "--python",
      newestPython,
    ]);
    await refused(run, /not permitted to debug process \d+ \(ptrace\)/, target);
  });
} else {
  noteSkipped("tracer attach", "no CPython 3.14+ provisioned (deno task pythons)");
}
