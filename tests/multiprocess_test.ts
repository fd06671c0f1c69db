/**
 * End-to-end tests of issue 3: every Python process the program starts is traced and none of its
 * data is lost, whatever way the child is started and however it ends. Each run leaves one file per
 * process (`--pid_suffix`); the tests read them back and check pids, functions, names and ends.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { atLeast, FIXTURES, pythonMatrix, readJson, runCli, tempDir } from "./helpers.ts";
import type { RunOutput } from "./helpers.ts";
import type { TraceEvent } from "../lib/trace_event.ts";

const DIR = join(FIXTURES, "multiprocess");
const MATRIX = pythonMatrix(["3.11", "3.13", "3.14", "3.15"]);
const PYTHON3 = pythonMatrix(["3.11"]).values().next().value ?? "python3";
/** "default": the platform's, which on Linux is fork before 3.14 and forkserver since. */
const START_METHODS = ["fork", "spawn", "forkserver", "default"] as const;

/** One per-process file, read back (salvaged line by line when it has no end record). */
interface ProcessFile {
  file: string;
  pid: number;
  ppid: number;
  argv: string[];
  execOf: string | null;
  /** Monotonic clock at start (ns). */
  startNs: number;
  /** `tracerEnd.exit`, or null when the process died before writing its end record. */
  exit: string | null;
  /** `tracerEnd.normal_end`: a pool worker its pool ended with SIGTERM. */
  normalEnd: boolean;
  name: string;
  /** Complete calls by function (qualname, without the source location). */
  calls: Map<string, number>;
  unfinished: Set<string>;
  /** Source files of the recorded Python functions. */
  sources: Set<string>;
  /** Ids of the launch arrows that start (`s`) and end (`f`) in this process. */
  launches: { s: Set<number>; f: Set<number> };
}

interface TracedRun {
  result: RunOutput;
  files: ProcessFile[];
}

async function traceRun(python: string, args: string[], dir: string): Promise<TracedRun> {
  const result = await runCli([
    "--quiet",
    "--python",
    python,
    "--pid_suffix",
    "--output_dir",
    dir,
    ...args,
  ]);
  return { result, files: await readProcessFiles(dir) };
}

async function readProcessFiles(dir: string): Promise<ProcessFile[]> {
  const files: ProcessFile[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (/^result_\d+(_\d+)?\.json$/.test(entry.name)) {
      files.push(parseProcessFile(entry.name, await Deno.readTextFile(join(dir, entry.name))));
    }
  }
  return files.sort((a, b) => a.file.localeCompare(b.file, "en", { numeric: true }));
}

function parseProcessFile(file: string, text: string): ProcessFile {
  const header = "," + '"traceEvents":[';
  const lines = text.split("\n");
  assert.ok(lines[0].endsWith(header), `${file}: first line is not the otherData header`);
  const other = JSON.parse(lines[0].slice(0, -header.length) + "}").otherData;
  let end: Record<string, unknown> | null = null;
  const events: TraceEvent[] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith("]")) {
      end = JSON.parse("{" + line.slice(line.indexOf('"tracerEnd"'))).tracerEnd;
      break;
    }
    try {
      events.push(JSON.parse(line.endsWith(",") ? line.slice(0, -1) : line));
    } catch {
      break; // the cut-off last line of a killed process
    }
  }
  if (end !== null) JSON.parse(text); // a file with an end record must be valid JSON as a whole
  const calls = new Map<string, number>();
  const unfinished = new Set<string>();
  const sources = new Set<string>();
  let name = "";
  const launches = { s: new Set<number>(), f: new Set<number>() };
  for (const event of events) {
    if (event.ph === "M" && event.name === "process_name") name = String(event.args?.name);
    if ((event.ph === "s" || event.ph === "f") && event.cat === "tracer.launch") {
      launches[event.ph].add(Number(event.id));
    }
    if (event.ph !== "X" || typeof event.name !== "string") continue;
    const fn = functionOf(event.name);
    calls.set(fn, (calls.get(fn) ?? 0) + 1);
    const source = /\((.*):\d+\)$/.exec(event.name);
    if (source) sources.add(source[1]);
    if (event.args?.unfinished) unfinished.add(fn);
  }
  return {
    file,
    pid: other.pid,
    ppid: other.ppid,
    argv: other.argv,
    execOf: other.exec_of ?? null,
    startNs: other.clock.mono_ns,
    exit: end === null ? null : String(end.exit),
    normalEnd: end?.normal_end === true,
    name,
    calls,
    unfinished,
    sources,
    launches,
  };
}

function functionOf(eventName: string): string {
  const at = eventName.indexOf(" (");
  return at === -1 ? eventName : eventName.slice(0, at);
}

function withCall(files: ProcessFile[], fn: string): ProcessFile[] {
  return files.filter((file) => file.calls.has(fn));
}

function totalCalls(files: ProcessFile[], fn: string): number {
  return files.reduce((sum, file) => sum + (file.calls.get(fn) ?? 0), 0);
}

function pids(files: ProcessFile[]): Set<number> {
  return new Set(files.map((file) => file.pid));
}

function byTag(files: ProcessFile[], tag: string): ProcessFile {
  const found = files.filter((file) => file.argv.at(-1) === tag);
  assert.equal(found.length, 1, `one process with argv tag ${tag}, found ${found.length}`);
  return found[0];
}

function assertAllEnded(files: ProcessFile[]) {
  for (const file of files) assert.notEqual(file.exit, null, `${file.file} has no end record`);
}

/** The root process of a run: the one that started first. */
function rootOf(files: ProcessFile[]): ProcessFile {
  return files.reduce((first, file) => file.startNs < first.startNs ? file : first);
}

const CHILD_TAGS = [
  "popen_python3",
  "run_python",
  "call_executable",
  "check_output",
  "preexec_fn",
  "shell_cd",
  "os_system",
  "os_popen",
  "asyncio_exec",
  "asyncio_shell",
  "custom_env",
  "custom_env_pythonpath",
  "posix_spawn_env",
  "spawnve_env",
];

for (const [version, python] of MATRIX) {
  Deno.test(`${version}: every way of starting a child traces it under its own pid`, async (t) => {
    await using dir = await tempDir();
    const { result, files } = await traceRun(python, [join(DIR, "children.py")], dir.path);
    assert.equal(result.code, 0, result.stderr);
    const root = rootOf(files);
    assertAllEnded(files);
    await t.step("one process per child, plus the root", () => {
      assert.equal(pids(files).size, CHILD_TAGS.length + 1);
    });
    for (const tag of CHILD_TAGS) {
      await t.step(`${tag}: the child's own function under the child's pid`, () => {
        const child = byTag(files, tag);
        assert.notEqual(child.pid, root.pid);
        assert.equal(child.calls.get("child_work"), 1);
        assert.equal(child.exit, "exit");
      });
    }
    await t.step("the parent's calls appear once, in the parent", () => {
      assert.deepEqual(withCall(files, "parent_only").map((f) => f.pid), [root.pid]);
      assert.equal(totalCalls(files, "child_work"), CHILD_TAGS.length);
    });
    await t.step("a custom env= gets the shim first and keeps the user's PYTHONPATH", () => {
      const seen = new Map(
        result.stdout.trim().split("\n").map((line) =>
          line.split(" PYTHONPATH=") as [string, string]
        ),
      );
      const shim = seen.get("custom_env")!;
      assert.ok(shim && !shim.includes(":"), `custom_env PYTHONPATH=${shim}`);
      assert.equal(seen.get("custom_env_pythonpath"), `${shim}:${DIR}`);
    });
  });

  Deno.test(`${version}: os.execl and os.execv keep the events before the exec and trace the new program`, async () => {
    await using dir = await tempDir();
    const { result, files } = await traceRun(python, [join(DIR, "exec_chain.py")], dir.path);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(files.length, 3, files.map((f) => f.file).join(" "));
    const chain = [...files].sort((a, b) => a.startNs - b.startNs);
    const [first, second, third] = chain;
    assert.deepEqual(pids(files), new Set([first.pid]));
    assert.deepEqual(chain.map((f) => f.exit), ["exec", "exec", "exit"]);
    assert.deepEqual(chain.map((f) => f.execOf), [null, first.file, second.file]);
    assert.equal(first.calls.get("before_exec"), 1);
    assert.equal(second.calls.get("before_exec"), 1);
    assert.equal(second.argv.at(-1), "stage2");
    assert.equal(third.calls.get("child_work"), 1);
    assert.equal(third.argv.at(-1), "exec_v");
  });

  Deno.test(`${version}: bare os.fork() children get their own files, names and ends`, async () => {
    await using dir = await tempDir();
    const { result, files } = await traceRun(python, [join(DIR, "forks.py")], dir.path);
    assert.equal(result.code, 0, result.stderr);
    assertAllEnded(files);
    const root = rootOf(files);
    assert.equal(pids(files).size, 4);
    assert.deepEqual(withCall(files, "parent_only").map((f) => f.pid), [root.pid]);
    const ends: Record<string, string> = {
      child_sys_exit: "exit",
      child_os_exit: "os._exit",
      child_return: "exit",
    };
    for (const [fn, exit] of Object.entries(ends)) {
      const [child] = withCall(files, fn);
      assert.ok(child, `no process called ${fn}`);
      assert.equal(withCall(files, fn).length, 1);
      assert.notEqual(child.pid, root.pid);
      assert.equal(child.ppid, root.pid);
      assert.equal(child.exit, exit, fn);
      assert.equal(child.name, `${root.name} (fork)`);
    }
  });

  for (const method of START_METHODS) {
    Deno.test(`${version}: multiprocessing with ${method}: Process, Pool, terminate, executor, nested`, async (t) => {
      await using dir = await tempDir();
      const { result, files } = await traceRun(python, [join(DIR, "mp_all.py"), method], dir.path);
      assert.equal(result.code, 0, result.stderr);
      const root = rootOf(files);
      const used = method !== "default" ? method : atLeast(version, "3.14") ? "forkserver" : "fork";
      const prefix = { fork: "Fork", spawn: "Spawn", forkserver: "ForkServer" }[used];
      const named = (pattern: RegExp) => files.filter((file) => pattern.test(file.name));
      await t.step("every process wrote its end record", () => assertAllEnded(files));
      await t.step("nothing of the parent is repeated in a child", () => {
        assert.deepEqual(withCall(files, "parent_only").map((f) => f.pid), [root.pid]);
      });
      await t.step("Process(name='Worker-A') runs its target under its own pid and name", () => {
        const [worker] = named(/^Worker-A$/);
        assert.ok(worker, files.map((f) => f.name).join(", "));
        assert.equal(worker.calls.get("process_target"), 1);
        assert.equal(withCall(files, "process_target").length, 1);
      });
      await t.step("Pool(2).map: all 8 tasks recorded, in pool workers", () => {
        const workers = named(new RegExp(`^${prefix}PoolWorker-\\d+$`));
        assert.equal(workers.length, 4, files.map((f) => f.name).join(", "));
        assert.equal(totalCalls(workers, "pool_task"), 8);
        assert.equal(totalCalls(files, "pool_task"), 8);
      });
      await t.step("Pool.terminate(): the busy worker's data is written, ended by SIGTERM", () => {
        const [worker] = withCall(files, "blocked_task");
        assert.ok(worker);
        assert.equal(worker.exit, "signal:SIGTERM");
        assert.equal(worker.normalEnd, true, "its pool's SIGTERM is how a pool worker ends");
        assert.ok(worker.unfinished.has("blocked_task"));
        assert.match(worker.name, new RegExp(`^${prefix}PoolWorker-\\d+$`));
      });
      await t.step("ProcessPoolExecutor: all 4 tasks recorded, in executor processes", () => {
        const workers = named(new RegExp(`^${prefix}Process-\\d+$`));
        assert.ok(workers.length >= 1 && workers.length <= 2, `${workers.length} workers`);
        assert.equal(totalCalls(workers, "executor_task"), 4);
      });
      await t.step("a pool worker's subprocess is traced, child of that worker", () => {
        const [worker] = withCall(files, "nested_task");
        const child = byTag(files, "nested");
        assert.equal(child.calls.get("child_work"), 1);
        assert.equal(child.ppid, worker.pid);
      });
      await t.step("helper processes are named and nothing else appears", () => {
        const helpers = used === "fork"
          ? []
          : used === "spawn"
          ? ["multiprocessing.resource_tracker"]
          : ["multiprocessing.forkserver", "multiprocessing.resource_tracker"];
        assert.deepEqual(named(/^multiprocessing\./).map((f) => f.name).sort(), helpers);
        // Each has its launch arrow, from the process that started it, as every child has
        for (const child of files.filter((file) => file !== root)) {
          const [id] = child.launches.f;
          assert.ok(id !== undefined, `${child.name}: no launch arrow`);
          const parents = files.filter((file) => file.launches.s.has(id));
          assert.equal(parents.length, 1, `${child.name}: the arrow's start`);
        }
        const executors = named(new RegExp(`^${prefix}Process-\\d+$`)).length;
        // root, Worker-A, 4 pool workers, executor processes, the nested child, helpers
        assert.equal(pids(files).size, 1 + 1 + 4 + executors + 1 + helpers.length);
      });
    });
  }

  Deno.test(`${version}: every way a process ends writes its file with the right end reason`, async () => {
    await using dir = await tempDir();
    const { result, files } = await traceRun(python, [join(DIR, "exits.py")], dir.path);
    assert.equal(result.code, 0, result.stderr);
    assertAllEnded(files);
    assert.deepEqual(JSON.parse(result.stdout), {
      normal: 0,
      sys_exit: 3,
      exception: 1,
      os_exit: 4,
      sigterm: -15,
      sigint: -2,
      user_sigterm: 5,
    });
    const reasons: Record<string, string> = {
      normal: "exit",
      sys_exit: "exit",
      exception: "exception",
      os_exit: "os._exit",
      sigterm: "signal:SIGTERM",
      sigint: "signal:SIGINT",
      user_sigterm: "exit",
    };
    for (const [way, reason] of Object.entries(reasons)) {
      const child = byTag(files, way);
      assert.equal(child.exit, reason, way);
      assert.equal(child.calls.get("work_before_end"), 1, way);
    }
  });
}

Deno.test("--ignore_multiprocess traces the root only: no file for fork, Pool or subprocess children", async () => {
  await using dir = await tempDir();
  const forks = await traceRun(PYTHON3, ["--ignore_multiprocess", join(DIR, "forks.py")], dir.path);
  assert.equal(forks.result.code, 0, forks.result.stderr);
  await using dir2 = await tempDir();
  const mp = await traceRun(
    PYTHON3,
    ["--ignore_multiprocess", join(DIR, "mp_all.py"), "spawn"],
    dir2.path,
  );
  assert.equal(mp.result.code, 0, mp.result.stderr);
  for (const { files } of [forks, mp]) {
    assert.equal(files.length, 1, files.map((f) => f.file).join(" "));
    assert.equal(files[0].exit, "exit");
    assert.equal(files[0].calls.get("parent_only"), 1);
  }
});

Deno.test("a SIGTERMed root keeps exit status 143 and writes its file", async () => {
  await using dir = await tempDir();
  const { result, files } = await traceRun(PYTHON3, [join(DIR, "exits.py"), "sigterm"], dir.path);
  assert.equal(result.code, 143, result.stderr);
  assert.equal(files.length, 1);
  assert.equal(files[0].exit, "signal:SIGTERM");
  assert.equal(files[0].calls.get("work_before_end"), 1);
});

Deno.test("a Ctrl-C'd root (KeyboardInterrupt) keeps exit status 130 and writes its file", async () => {
  await using dir = await tempDir();
  const { result, files } = await traceRun(PYTHON3, [join(DIR, "exits.py"), "sigint"], dir.path);
  assert.equal(result.code, 130, result.stderr);
  assert.equal(files.length, 1);
  assert.equal(files[0].exit, "signal:SIGINT");
});

Deno.test("a SIGTERM during the final write does not cut the file", async () => {
  await using dir = await tempDir();
  const run = await traceRun(PYTHON3, [join(DIR, "term_during_dump.py")], dir.path);
  assert.equal(run.result.code, 0, run.result.stderr);
  assert.equal(run.result.stdout, "-15\n", "the child died of the SIGTERM, after its write");
  const [child] = withCall(run.files, "busy");
  assert.ok(child);
  assert.equal(child.exit, "os._exit");
  assert.equal(child.calls.get("busy"), 400000);
});

Deno.test("a child that outlives its parent by 1 s is waited for", async () => {
  await using dir = await tempDir();
  const { result, files } = await traceRun(PYTHON3, [join(DIR, "outlive.py")], dir.path);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(files.length, 2);
  const [late] = withCall(files, "late_work");
  assert.ok(late);
  assert.equal(late.exit, "exit");
});

Deno.test("a SIGKILLed child's data written so far is salvaged into the combined trace", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "out.json");
  const result = await runCli([
    "--quiet",
    "--python",
    PYTHON3,
    "-o",
    out,
    join(DIR, "killed_child.py"),
  ]);
  assert.equal(result.code, 0, result.stderr);
  const events = (await readJson(out) as { traceEvents: TraceEvent[] }).traceEvents;
  const busy = events.filter((e) => e.ph === "X" && functionOf(String(e.name)) === "busy");
  assert.ok(busy.length > 0, "no busy() calls of the killed child");
  assert.equal(new Set(events.filter((e) => e.ph === "X").map((e) => e.pid)).size, 2);
});

Deno.test("12 processes started at once are all traced", async () => {
  await using dir = await tempDir();
  const { result, files } = await traceRun(PYTHON3, [join(DIR, "many.py")], dir.path);
  assert.equal(result.code, 0, result.stderr);
  assertAllEnded(files);
  assert.equal(pids(files).size, 13);
  for (let i = 0; i < 12; i++) assert.equal(byTag(files, `many_${i}`).calls.get("child_work"), 1);
});

for (const [version, python] of MATRIX) {
  Deno.test(`${version}: python -m test -j2 test_bisect test_json: its worker processes are traced`, async () => {
    await using dir = await tempDir();
    // The pure-Python recursion and unicode cases make ~40 M calls on 3.13 (minutes traced).
    const skipHeavy = ["-i", "*Recursion*", "-i", "*Unicode*"];
    const { result, files } = await traceRun(
      python,
      ["-m", "test", "-j2", "test_bisect", "test_json", ...skipHeavy],
      dir.path,
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assertAllEnded(files);
    const root = rootOf(files);
    const workers = files.filter((file) => file.ppid === root.pid);
    assert.equal(workers.length, 2, files.map((f) => `${f.pid}:${f.argv.join(" ")}`).join("\n"));
    const ran = (file: ProcessFile, part: string) =>
      [...file.sources].some((source) => source.includes(part));
    const [bisect] = workers.filter((file) => ran(file, "/test/test_bisect.py"));
    const [json] = workers.filter((file) => ran(file, "/test/test_json/"));
    assert.ok(bisect && json && bisect !== json, "each test module ran in its own worker");
    assert.ok(!ran(root, "/test/test_json/"), "the root process ran no test itself");
    // test_json.test_tool runs `python -m json.tool` children from its worker.
    assert.ok(files.some((file) => file.ppid === json.pid), "no traced child of the json worker");
  });
}

Deno.test("python -m compileall -j 2: its worker processes are traced", async () => {
  await using dir = await tempDir();
  const sources = join(dir.path, "src");
  await Deno.mkdir(sources);
  for (let i = 0; i < 8; i++) {
    await Deno.writeTextFile(join(sources, `module_${i}.py`), `def f_${i}():\n    return ${i}\n`);
  }
  const traces = join(dir.path, "traces");
  await Deno.mkdir(traces);
  const { result, files } = await traceRun(
    PYTHON3,
    ["-m", "compileall", "-q", "-j", "2", sources],
    traces,
  );
  assert.equal(result.code, 0, result.stderr);
  assertAllEnded(files);
  const compilers = withCall(files, "compile_file");
  const root = rootOf(files);
  assert.ok(compilers.length >= 1 && compilers.every((f) => f.pid !== root.pid));
  assert.equal(totalCalls(files, "compile_file"), 8);
});

Deno.test("a fork Pool terminated at exit, 6 runs at once: each keeps its status and every process", async () => {
  await Promise.all(Array.from({ length: 6 }, async () => {
    await using dir = await tempDir();
    const out = join(dir.path, "t.json");
    const result = await runCli([
      "--python",
      PYTHON3,
      "-o",
      out,
      join(DIR, "fork_pool_exit.py"),
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "mapped\n");
    assert.doesNotMatch(result.stderr, /skipped|warning/, "no process file was damaged");
    assert.match(result.stderr, /tracer: [34] processes,/, "the root, 2 workers (+ a tracker)");
    const trace = await readJson(out) as { traceEvents: TraceEvent[] };
    const pids = new Set(trace.traceEvents.map((event) => event.pid));
    assert.ok(pids.size >= 3, `processes with events: ${pids.size}`);
  }));
});
