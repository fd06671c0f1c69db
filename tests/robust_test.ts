/**
 * The recorder never harms the program and loses nothing (issue: hostile programs, full disks,
 * idle and killed processes): each fixture in tests/fixtures/robust is run through the CLI over
 * the Python matrix, and the program's output, status and files are compared with what it does
 * untraced, and the trace with what it did.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  atLeast,
  eventsOf,
  FIXTURES,
  MONITORING_MATRIX,
  noteSkipped,
  pythonMatrix,
  readJson,
  runCli,
  runCommand,
  type RunOutput,
  tempDir,
  testVenvProgram,
} from "./helpers.ts";
import type { TraceEvent } from "../lib/trace_event.ts";
import { NEWER_PYTHONS, newerVenvProgram } from "../scripts/pythons.ts";

const DIR = join(FIXTURES, "robust");
const MATRIX = pythonMatrix();

/** A combined trace read back: its events, each process's tracerEnd by pid, the core used. */
interface Traced extends RunOutput {
  events: TraceEvent[];
  ends: Map<number, Record<string, unknown>>;
  /** `otherData.core` of the first process: "native" or "python". */
  core: string;
}

async function traced(
  python: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; cli?: string[] } = {},
): Promise<Traced> {
  await using dir = await tempDir();
  const out = join(dir.path, "out.json");
  const run = await runCli(["--python", python, ...options.cli ?? [], "-o", out, ...args], {
    cwd: options.cwd,
    env: options.env,
  });
  const trace = await readJson(out) as {
    traceEvents: TraceEvent[];
    otherData: {
      sources: { otherData: { pid: number; core: string }; tracerEnd: Record<string, unknown> }[];
    };
  };
  const sources = trace.otherData.sources;
  const ends = new Map(sources.map((s) => [s.otherData.pid, s.tracerEnd]));
  return { ...run, events: trace.traceEvents, ends, core: sources[0].otherData.core };
}

/** Complete calls of the function named `qualname` (any file). */
function calls(events: TraceEvent[], qualname: string, pid?: number): TraceEvent[] {
  return events.filter((e) =>
    e.ph === "X" && String(e.name).split(" (")[0] === qualname &&
    (pid === undefined || e.pid === pid)
  );
}

/** The summary line and the warnings: what tracer itself said. */
function tracerLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("tracer: "));
}

/** Runs `check` for every Python of the matrix in parallel, naming the version on failure. */
async function eachPython(
  check: (version: string, python: string) => Promise<void>,
  versions?: string[],
) {
  const chosen = [...MATRIX].filter(([version]) => !versions || versions.includes(version));
  await Promise.all(chosen.map(async ([version, python]) => {
    try {
      await check(version, python);
    } catch (error) {
      if (error instanceof Error) error.message = `Python ${version}: ${error.message}`;
      throw error;
    }
  }));
}

/**
 * Runs `check` for every Python and each recording core (`--core python` and `--core native`;
 * where no native core is built the second falls back to Python, and `Traced.core` says so).
 */
async function eachPythonAndCore(
  check: (version: string, python: string, core: string[]) => Promise<void>,
  versions?: string[],
) {
  await eachPython(async (version, python) => {
    for (const core of ["python", "native"]) {
      try {
        await check(version, python, ["--core", core]);
      } catch (error) {
        if (error instanceof Error) error.message = `--core ${core}: ${error.message}`;
        throw error;
      }
    }
  }, versions);
}

Deno.test("descriptors.py: a program that dup2s onto 3 and closes every descriptor keeps its files", async () => {
  await eachPython(async (_version, python) => {
    await using plainDir = await tempDir();
    await using tracedDir = await tempDir();
    const script = join(DIR, "descriptors.py");
    const plain = await runCommand([python, script], { cwd: plainDir.path });
    const run = await traced(python, [script], { cwd: tracedDir.path });
    assert.equal(plain.stdout, "3 3 True True\n");
    assert.equal(run.stdout, plain.stdout, "same descriptor numbers, files hold only their lines");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(calls(run.events, "work").length, 400000, "both halves recorded");
    assert.deepEqual(tracerLines(run.stderr).filter((l) => l.includes("warning")), []);
  });
});

/** Runs `use` with a fresh 2 MB tmpfs mounted at a temp dir; false when it cannot be mounted. */
async function withSmallDisk(use: (path: string) => Promise<void>): Promise<boolean> {
  await using mount = await tempDir();
  const mounted = await runCommand(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mount.path]);
  if (mounted.code !== 0) return false;
  try {
    await use(mount.path);
  } finally {
    await runCommand(["umount", mount.path]);
  }
  return true;
}

Deno.test("fills_disk.py: a full disk under the data directory stops recording, not the program", async (t) => {
  await eachPythonAndCore(async (_version, python, core) => {
    const mounted = await withSmallDisk(async (tmp) => {
      const run = await traced(python, [join(DIR, "fills_disk.py")], {
        env: { ...Deno.env.toObject(), TMPDIR: tmp },
        cli: core,
      });
      assert.equal(run.code, 7, run.stderr);
      assert.equal(run.stdout, "done\n");
      assert.doesNotMatch(run.stderr, /Traceback|Errno/);
      assert.match(
        run.stderr,
        /^tracer: warning: process \d+ \(.*\): recording stopped early: no space left on the device of the trace data directory \(ENOSPC\)/m,
      );
      const kept = calls(run.events, "work").length;
      assert.ok(kept > 1000 && kept < 1000000, `the events before the disk filled: ${kept}`);
      const [end] = [...run.ends.values()];
      assert.equal(end.exit, "exit", "the end record was written after the failed chunk");
    });
    if (!mounted) noteSkipped(t.name, "cannot mount a small tmpfs here (needs root)");
  });
});

Deno.test("thread_waves.py: threads ending while others start never see the tracer", async () => {
  await eachPythonAndCore(async (_version, python, core) => {
    for (let round = 0; round < 3; round++) {
      const run = await traced(python, [join(DIR, "thread_waves.py")], {
        cli: ["--quiet", ...core],
      });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, "", "nothing from the shim inside the program's threads");
      assert.equal(run.stdout, "waves done\n");
      assert.equal(calls(run.events, "work").length, 60 * 8 * 200);
    }
  });
});

Deno.test("first_calls.py: threads making the first call of a function at once each record it", async () => {
  await eachPythonAndCore(async (_version, python, core) => {
    const run = await traced(python, [join(DIR, "first_calls.py")], { cli: ["--quiet", ...core] });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "first calls done\n");
    const firsts = calls(run.events, "first");
    assert.equal(firsts.length, 300 * 8 * 2, "every call of 300 new functions in 8 threads");
    assert.equal(new Set(firsts.map((e) => e.tid)).size, 8);
  });
});

Deno.test("twins.py: equal code objects of two files are both recorded, across a failed exec", async () => {
  await eachPythonAndCore(async (_version, python, core) => {
    const run = await traced(python, [join(DIR, "twins.py")], { cli: ["--quiet", ...core] });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "exec failed: Exec format error\ntwins done\n");
    for (const file of ["twin_a.py", "twin_b.py"]) {
      const twins = run.events.filter((e) => e.ph === "X" && e.name === `twin (${file}:1)`);
      assert.equal(twins.length, 2 * 101, `${file}: 101 calls before the exec and 101 after`);
    }
  });
});

Deno.test("open_at_exit.py: calls open at the end nest exactly: no callee ends after its caller", async () => {
  await eachPythonAndCore(async (_version, python, core) => {
    const run = await traced(python, [join(DIR, "open_at_exit.py")], { cli: ["--quiet", ...core] });
    assert.equal(run.code, 3, run.stderr);
    const open = run.events.filter((e) => e.ph === "X" && e.args?.unfinished === true);
    assert.equal(calls(open, "nest").length, 121);
    assert.equal(calls(open, "hold").length, 61);
    for (const tid of new Set(open.map((e) => e.tid))) {
      // One chain per thread, outermost first; ends compared as any reader computes them.
      const chain = open.filter((e) => e.tid === tid).sort((a, b) =>
        a.ts! - b.ts! || b.dur! - a.dur!
      );
      for (let i = 1; i < chain.length; i++) {
        const [caller, callee] = [chain[i - 1], chain[i]];
        assert.ok(callee.ts! >= caller.ts!, `${callee.name} starts inside ${caller.name}`);
        assert.ok(
          callee.ts! + callee.dur! <= caller.ts! + caller.dur!,
          `${callee.name} ends at ${callee.ts! + callee.dur!}, after ${caller.name} at ${
            caller.ts! + caller.dur!
          }`,
        );
      }
    }
  });
});

Deno.test("deep_stack.py: a JSON trace deeper than Perfetto draws says so; the HTML report does not", async () => {
  await eachPythonAndCore(async (_version, python, core) => {
    const run = await traced(python, [join(DIR, "deep_stack.py")], { cli: ["--quiet", ...core] });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(calls(run.events, "deep").length, 1501);
    const [end] = [...run.ends.values()];
    assert.equal(end.deepest_stack, 1502, "<module> and 1,501 calls of deep");
    assert.deepEqual(tracerLines(run.stderr), [
      `tracer: warning: process ${[...run.ends.keys()][0]}: call stacks 1502 deep: Perfetto UI ` +
      "shows 512 levels and draws deeper calls at depth 0 without their callers; the HTML report " +
      "(-o x.html) shows every level",
    ]);
    await using dir = await tempDir();
    const html = await runCli(
      [
        "--quiet",
        "--python",
        python,
        ...core,
        "-o",
        join(dir.path, "t.html"),
        join(DIR, "deep_stack.py"),
      ],
    );
    assert.equal(html.code, 0, html.stderr);
    assert.equal(html.stderr, "", "the report draws every level: nothing to say");
  });
});

Deno.test("term_at_fork.py: fork children SIGTERMed as soon as they exist all die of it", async () => {
  await eachPythonAndCore(async (_version, python, core) => {
    const run = await traced(python, [join(DIR, "term_at_fork.py"), "40"], {
      cli: ["--quiet", ...core],
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "lost 0 of 40\n", "no child ran on after its SIGTERM");
    const children = [...run.ends.values()].filter((end) => end.exit !== "exit");
    assert.equal(children.length, 40);
    assert.deepEqual(new Set(children.map((end) => end.exit)), new Set(["signal:SIGTERM"]));
  });
});

Deno.test("free_tools.py: a program that frees every sys.monitoring tool id runs on (3.12+)", async () => {
  await eachPythonAndCore(async (_version, python, core) => {
    const run = await traced(python, [join(DIR, "free_tools.py")], { cli: core });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "freed\n");
    assert.doesNotMatch(run.stderr, /Traceback|ValueError/);
    assert.equal(calls(run.events, "before").length, 100);
    assert.match(
      run.stderr,
      /recording stopped early: the program freed the sys\.monitoring tool ids? tracer recorded with/,
    );
  }, MONITORING_MATRIX);
});

Deno.test("clear_tools.py: a program that clears every sys.monitoring tool id runs on (3.14+)", async () => {
  await eachPythonAndCore(async (_version, python, core) => {
    const run = await traced(python, [join(DIR, "clear_tools.py")], { cli: core });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^cleared [12]\n$/); // the tool ids stay claimed, by name
    assert.doesNotMatch(run.stderr, /Traceback|ValueError/);
    assert.equal(calls(run.events, "before").length, 100);
    assert.match(
      run.stderr,
      /recording stopped early: the program cleared the sys\.monitoring tool ids? tracer recorded with/,
    );
  }, MONITORING_MATRIX.filter((version) => atLeast(version, "3.14")));
});

Deno.test("stepper.py kill: a process that records slowly keeps what it recorded when SIGKILLed", async () => {
  await eachPythonAndCore(async (_version, python, core) => {
    const run = await traced(python, [join(DIR, "stepper.py"), "kill"], { cli: core });
    assert.equal(run.code, 0, run.stderr);
    // 30 steps 10 ms apart; events reach the file within 50 ms of the next one.
    const steps = calls(run.events, "step").length;
    assert.ok(steps >= 20, `steps kept of the 30 (or a few more) before the kill: ${steps}`);
  });
});

Deno.test("stepper.py orphan: a process still running when tracer stops waiting is included", async () => {
  await eachPython(async (_version, python) => {
    await using dir = await tempDir();
    const pidFile = join(dir.path, "child.pid");
    try {
      const run = await traced(python, [join(DIR, "stepper.py"), "orphan", pidFile], {
        cli: ["--wait_timeout", "1"],
      });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /still running/);
      const steps = calls(run.events, "step").length;
      assert.ok(steps >= 20, `steps before its parent left (30) and while waited for: ${steps}`);
    } finally {
      Deno.kill(Number(await Deno.readTextFile(pidFile)), "SIGKILL");
    }
  });
});

Deno.test("c_calls_only.py: a loop of C calls keeps memory bounded (3.8-3.11)", async () => {
  await eachPythonAndCore(async (_version, python, core) => {
    const run = await traced(python, [join(DIR, "c_calls_only.py")], { cli: core });
    assert.equal(run.code, 0, run.stderr);
    const peakMb = Number(run.stdout.trim());
    assert.ok(peakMb < 120, `peak RSS ${peakMb} MB (untraced ~8 MB; unflushed it passed 340 MB)`);
    const lens = calls(run.events, "builtins.len").length;
    assert.ok(lens >= 4000000 && lens < 4000100, `the loop's calls (and start-up's): ${lens}`);
  }, ["3.8", "3.11"]);
});

Deno.test("fork_inherits.py: a fork child names what it inherits, closes its fork, counts its own", async () => {
  await eachPythonAndCore(async (_version, python, core) => {
    const run = await traced(python, [join(DIR, "fork_inherits.py")], { cli: core });
    assert.equal(run.code, 0, run.stderr);
    const pids = [...run.ends.keys()];
    assert.equal(pids.length, 2);
    const child = pids.find((pid) => calls(run.events, "work", pid).length === 200)!;
    assert.ok(child, "the child recorded its own 200 calls and none of the parent's");
    const mine = run.events.filter((e) => e.ph === "X" && e.pid === child);
    assert.deepEqual(mine.filter((e) => /unknown name/.test(String(e.name))), []);
    const open = mine.filter((e) => e.args?.unfinished).map((e) => String(e.name).split(" (")[0]);
    assert.deepEqual(open.sort(), ["<module>", "inner", "outer"], "inherited calls, named");
    const [fork] = calls(run.events, "posix.fork", child);
    assert.ok(fork && !fork.args?.unfinished, "os.fork returns in the child");
    const firstWork = calls(run.events, "work", child)[0];
    assert.ok(fork.ts! + fork.dur! <= firstWork.ts!, "the child's calls follow its fork");
    assert.equal(run.ends.get(child)!.events, mine.length, "the child counts its own events");
  });
});

/** The versions the SIGKILL tests run on (issue: 3.8, 3.11, 3.13 and 3.14+). */
const KILL_MATRIX = ["3.8", "3.11", "3.13", "3.14", "3.15"];

for (const mode of ["busy", "idle", "ccall"]) {
  Deno.test(`sigkill.py ${mode}: a SIGKILLed spawn or fork child keeps every call it finished, and its names`, async () => {
    await eachPythonAndCore(async (_version, python, core) => {
      const seed = Math.floor(Math.random() * 1e6);
      const run = await traced(python, [join(DIR, "sigkill.py"), mode, String(seed)], {
        cli: ["--tracer_entries", "100000000", ...core],
      });
      assert.equal(run.code, 0, run.stderr);
      const children = run.stdout.trim().split("\n").map((line) => line.split(" "));
      assert.deepEqual(children.map(([kind]) => kind), ["spawn", "fork"], run.stdout);
      for (const [kind, pidText, mainText, helperText] of children) {
        const where = `${kind} child (seed ${seed})`;
        const pid = Number(pidText);
        assert.equal(run.ends.get(pid)?.exit, "killed", where);
        const names = run.events.filter((e) => e.ph === "M" && e.pid === pid);
        const processName = String(
          names.filter((e) => e.name === "process_name").at(-1)?.args?.name,
        );
        if (kind === "spawn") assert.equal(processName, "victim-spawn", where);
        else assert.match(processName, / \(fork\)$/, where);
        const threadNames = new Map(
          names.filter((e) => e.name === "thread_name").map((e) => [e.tid, String(e.args?.name)]),
        );
        assert.equal(threadNames.get(pid), "MainThread", where);
        const helperTids = [...threadNames].filter(([, name]) => name === `helper-${kind}`);
        assert.equal(helperTids.length, 1, `${where}: thread names ${[...threadNames.values()]}`);
        const leafs = calls(run.events, "leaf", pid).filter((e) => !e.args?.unfinished);
        // Each thread stored its count after each call returned: a call can be finished and
        // not counted yet (killed in between), never the other way round.
        const counts: [number, number][] = [
          [pid, Number(mainText)],
          [Number(helperTids[0][0]), Number(helperText)],
        ];
        for (const [tid, counted] of counts) {
          const traced = leafs.filter((e) => e.tid === tid).length;
          assert.ok(
            traced === counted || traced === counted + 1,
            `${where}, thread ${tid}: ${traced} leaf() calls traced, ${counted} made`,
          );
        }
        const open = run.events.filter((e) => e.pid === pid && e.tid === pid && e.args?.unfinished)
          .map((e) => String(e.name).split(" (")[0]);
        assert.ok(open.includes("child"), `${where}: open calls ${open}`);
        if (mode !== "busy") assert.ok(open.includes("time.sleep"), `${where}: open calls ${open}`);
      }
    }, KILL_MATRIX);
  });
}

Deno.test("killed_names.py: a SIGKILLed process keeps its process and thread names", async () => {
  await eachPythonAndCore(async (_version, python, core) => {
    const run = await traced(python, [join(DIR, "killed_names.py")], { cli: core });
    assert.equal(run.code, 0, run.stderr);
    const [pid, exitcode] = run.stdout.trim().split(" ").map(Number);
    assert.equal(exitcode, -9);
    const names = run.events.filter((e) => e.ph === "M" && e.pid === pid);
    const processName = names.filter((e) => e.name === "process_name").at(-1);
    assert.equal(processName?.args?.name, "VictimWorker");
    const threads = names.filter((e) => e.name === "thread_name").map((e) => e.args?.name);
    assert.ok(threads.includes("helper"), `thread names: ${threads}`);
    assert.ok(threads.includes("victim-main"), `thread names: ${threads}`);
  });
});

Deno.test("queue_get.py: C methods defined with their class are named by type and method", async () => {
  await eachPythonAndCore(async (_version, python, core) => {
    const run = await traced(python, [join(DIR, "queue_get.py")], { cli: core });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(calls(run.events, "_queue.SimpleQueue.get").length, 1);
    assert.deepEqual(calls(run.events, "builtin_method"), []);
  });
});

Deno.test("recursion.py: calls after a RecursionError are recorded (3.12+), or the loss is said", async () => {
  await eachPythonAndCore(async (version, python, core) => {
    const run = await traced(python, [join(DIR, "recursion.py")], { cli: core });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "recovered\n");
    if (atLeast(version, "3.12") || run.core === "native") {
      assert.equal(calls(run.events, "after").length, 5);
      assert.ok(calls(run.events, "down").every((e) => !e.args?.unfinished));
    } else {
      assert.match(
        run.stderr,
        /recording stopped early: the profile function of thread 'MainThread' was removed/,
      );
    }
  });
});

/**
 * Pythons with coverage installed: the test venv's (TRACER_TEST_VENV, scripts/test.ts) and the
 * venvs of `deno task pythons` (3.14+, where coverage measures with sys.monitoring by default).
 */
const COVERAGE_PYTHONS = [
  testVenvProgram("python"),
  ...NEWER_PYTHONS.map((version) =>
    newerVenvProgram(version, "coverage") && newerVenvProgram(version, "python")
  ),
].filter((python): python is string => !!python);
if (COVERAGE_PYTHONS.length === 0) {
  noteSkipped(
    "coverage under tracer",
    "no Python with coverage (deno task test installs one; or set TRACER_TEST_VENV)",
  );
}

Deno.test({
  name: "coverage run under tracer: the same report as untraced, and the program's calls traced",
  ignore: COVERAGE_PYTHONS.length === 0,
  async fn() {
    await Promise.all(COVERAGE_PYTHONS.map(async (python) => {
      const version =
        (await runCommand([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]))
          .stdout.trim();
      const report = async (traced: boolean) => {
        await using dir = await tempDir();
        const script = join(dir.path, "coverage_target.py");
        await Deno.copyFile(join(DIR, "coverage_target.py"), script);
        const coverage = ["-m", "coverage", "run", "--branch", "--debug=sys", script];
        const run = traced
          ? await runCli(["-q", "--python", python, "-o", "t.json", ...coverage], { cwd: dir.path })
          : await runCommand([python, ...coverage], { cwd: dir.path });
        assert.equal(run.code, 0, `${version}: ${run.stderr}`);
        const core = /^\s*core: (\S+)/m.exec(run.stdout + run.stderr)?.[1];
        const shown = await runCommand([python, "-m", "coverage", "report", "-m"], {
          cwd: dir.path,
        });
        assert.equal(shown.code, 0, shown.stdout + shown.stderr);
        const events = traced ? eventsOf(await readJson(join(dir.path, "t.json"))) : [];
        return { core, report: shown.stdout, events };
      };
      const [untraced, traced] = [await report(false), await report(true)];
      assert.equal(traced.report, untraced.report, `${version}: coverage's report changed`);
      assert.match(traced.report, /^coverage_target\.py\s+10\s+2\s+2\s+1\s+75%\s+10, 14$/m);
      // 3.14+: coverage measures with sys.monitoring (its tool id) beside tracer's tools
      assert.equal(traced.core, untraced.core, version);
      if (atLeast(version, "3.14")) assert.equal(traced.core, "SysMonitor");
      assert.equal(traced.events.filter((e) => e.name?.startsWith("used ")).length, 1, version);
    }));
  },
});
