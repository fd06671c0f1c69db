/**
 * The Python shim run directly (no CLI): PYTHONPATH=<repo>/py and TRACER_CONFIG set, over the
 * Python matrix. Checks what each process records and that the program behaves as untraced.
 * @module
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { FIXTURES, pythonMatrix, ROOT, runCommand, type RunOutput, tempDir } from "./helpers.ts";
import { convertRawFile, defaultJsonName } from "../lib/raw/convert.ts";
import { defaultRecording, type ShimConfig } from "../lib/run/shim_config.ts";
import type { TraceEvent } from "../lib/trace_event.ts";

const SHIM_DIR = join(ROOT, "py");
const SHIM_FIXTURES = join(FIXTURES, "shim");
const MATRIX = pythonMatrix();

/** One result file, checked line by line against docs/internals.md section 2. */
interface TraceFile {
  name: string;
  otherData: Record<string, unknown>;
  events: TraceEvent[];
  tracerEnd: Record<string, unknown>;
}

interface TracedRun extends RunOutput {
  traces: TraceFile[];
}

interface TraceOptions {
  config?: Partial<ShimConfig>;
  args?: string[];
  stdin?: string;
  /** Extra PYTHONPATH entries after the shim dir. */
  pythonPath?: string[];
  /** Interpreter arguments before the script, e.g. ["-m", "mod"] instead of a script file. */
  argv?: string[];
}

function baseEnv(): Record<string, string> {
  return { PYTHONDONTWRITEBYTECODE: "1", PYTHONWARNINGS: "default" };
}

/** Runs `python script args` traced and parses every result file it left. */
async function traced(python: string, script: string, options: TraceOptions = {}) {
  await using dir = await tempDir();
  const config: ShimConfig = {
    version: 1,
    run_id: "shim-test",
    output_dir: dir.path,
    shim_dir: SHIM_DIR,
    ...defaultRecording(),
    tracer_entries: 1_000_000,
    ...options.config,
  };
  const program = options.argv ?? [join(SHIM_FIXTURES, script)];
  const output = await runCommand([python, ...program, ...options.args ?? []], {
    cwd: SHIM_FIXTURES,
    stdin: options.stdin,
    env: {
      ...baseEnv(),
      PYTHONPATH: [SHIM_DIR, ...options.pythonPath ?? []].join(":"),
      TRACER_CONFIG: JSON.stringify(config),
    },
  });
  return { ...output, traces: await convertAll(dir.path, output.signal === "SIGKILL") };
}

/** Converts every raw file the shim wrote (the only files it writes) to JSON, then parses it. */
async function convertAll(dir: string, killed: boolean): Promise<TraceFile[]> {
  const rawNames = [...Deno.readDirSync(dir)].map((entry) => entry.name);
  const traces: TraceFile[] = [];
  for (const rawName of rawNames) {
    assert.match(rawName, /^result_\d+(_\d+)?\.raw$/);
    const name = defaultJsonName(rawName);
    const result = await convertRawFile(join(dir, rawName), join(dir, name));
    assert.ok(result.written, `${rawName} has a header`);
    assert.equal(result.ended, !killed, `${rawName}: end record`);
    const trace = parseExact(name, await Deno.readTextFile(join(dir, name)));
    if (killed) assert.equal(trace.tracerEnd.exit, "killed");
    traces.push(trace);
  }
  return traces;
}

/** Runs the same program untraced, for comparison. */
function untraced(python: string, script: string, options: TraceOptions = {}) {
  return runCommand([python, join(SHIM_FIXTURES, script), ...options.args ?? []], {
    cwd: SHIM_FIXTURES,
    stdin: options.stdin,
    env: { ...baseEnv(), PYTHONPATH: (options.pythonPath ?? []).join(":") },
  });
}

const LINE1 = /^\{"otherData":(\{.*\}),"traceEvents":\[$/;
const LAST = /^\],"tracerEnd":(\{.*\})\}$/;

/** Parses a complete file, asserting the exact line layout: line 1, one event a line, tracerEnd. */
function parseExact(name: string, text: string): TraceFile {
  const whole = JSON.parse(text);
  assert.ok(text.endsWith("}\n"), `${name} ends with a newline`);
  const lines = text.slice(0, -1).split("\n");
  const first = LINE1.exec(lines[0]);
  assert.ok(first, `${name}: line 1 is otherData then "traceEvents":[`);
  const last = LAST.exec(lines[lines.length - 1]);
  assert.ok(last, `${name}: the last line is ],"tracerEnd":{...}}`);
  const eventLines = lines.slice(1, -1);
  const events = eventLines.map((line, i) => {
    const isLast = i === eventLines.length - 1;
    assert.equal(line.endsWith(","), !isLast, `${name}: event line ${i + 2} comma`);
    return JSON.parse(isLast ? line : line.slice(0, -1)) as TraceEvent;
  });
  assert.deepEqual(events, whole.traceEvents);
  return {
    name,
    otherData: JSON.parse(first[1]),
    events,
    tracerEnd: JSON.parse(last[1]),
  };
}

/** Runs `check` for every Python of the matrix in parallel, naming the version on failure. */
async function eachPython(check: (version: string, python: string) => Promise<void>) {
  await Promise.all([...MATRIX].map(async ([version, python]) => {
    try {
      await check(version, python);
    } catch (error) {
      if (error instanceof Error) error.message = `Python ${version}: ${error.message}`;
      throw error;
    }
  }));
}

function only(run: TracedRun): TraceFile {
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, "");
  assert.equal(run.traces.length, 1, `one result file, got ${run.traces.map((t) => t.name)}`);
  return run.traces[0];
}

function calls(trace: TraceFile, qualname: string): TraceEvent[] {
  return trace.events.filter((e) =>
    e.ph === "X" && typeof e.name === "string" && e.name.startsWith(qualname + " (")
  );
}

function contains(parent: TraceEvent, child: TraceEvent): boolean {
  return parent.tid === child.tid && parent.ts! <= child.ts! &&
    child.ts! + child.dur! <= parent.ts! + parent.dur!;
}

Deno.test("config: TRACER_CONFIG is read when _json's private scanner refuses the decoder", async () => {
  // 3.15's scanner reads an attribute (array_hook) 3.14's decoder did not have: the shim traced
  // nothing there. Any such failure now leaves the public json module to parse.
  const code = [
    "import _json",
    "real = _json.make_scanner",
    "def refuse(context):",
    "    if type(context).__name__ == '_ScanContext': raise AttributeError('array_hook')",
    "    return real(context)",
    "_json.make_scanner = refuse",
    "from _tracer.config import parse_config",
    `print(parse_config('{"version": 1, "output_dir": "/x", "core": "python"}').core)`,
  ].join("\n");
  await eachPython(async (_version, python) => {
    const run = await runCommand([python, "-c", code], { env: { PYTHONPATH: join(ROOT, "py") } });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "python\n");
  });
});

Deno.test("file format: line 1, one event a line, metadata and tracerEnd", async () => {
  await eachPython(async (version, python) => {
    const trace = only(await traced(python, "nesting.py"));
    const pid = trace.otherData.pid as number;
    assert.equal(trace.name, `result_${pid}.json`);
    assert.equal(trace.otherData.tracer_version, 1);
    assert.equal(trace.otherData.cwd, SHIM_FIXTURES);
    assert.equal(String(trace.otherData.python).slice(0, version.length), version);
    const clock = trace.otherData.clock as Record<string, number>;
    assert.ok(clock.epoch_ns > 1.6e18 && clock.mono_ns > 0);
    for (const event of trace.events) {
      assert.equal(event.pid, pid);
      if (event.ph === "X") {
        assert.ok(event.cat === "py" || event.cat === "c");
        assert.ok(event.ts! * 1000 >= clock.mono_ns && event.dur! >= 0);
      }
    }
    const processName = trace.events.find((e) => e.ph === "M" && e.name === "process_name");
    assert.equal(
      processName?.args?.name,
      `${basename(python)} ${join(SHIM_FIXTURES, "nesting.py")}`,
    );
    assert.equal(trace.tracerEnd.exit, "exit");
    assert.equal(trace.tracerEnd.dropped_events, 0);
    assert.equal(trace.tracerEnd.unfinished, 0);
    assert.equal(trace.tracerEnd.events, trace.events.filter((e) => e.ph === "X").length);
    assert.ok((trace.tracerEnd.end_mono_ns as number) > clock.mono_ns);
    const shimEvents = trace.events.filter((e) => String(e.name).includes(SHIM_DIR));
    assert.deepEqual(shimEvents, [], "the shim never traces itself");
  });
});

Deno.test("nested calls nest, with C calls inside their caller", async () => {
  await eachPython(async (_version, python) => {
    const trace = only(await traced(python, "nesting.py"));
    const [outer] = calls(trace, "outer");
    const [middle] = calls(trace, "middle");
    const inner = calls(trace, "inner");
    const sleeps = trace.events.filter((e) => e.name === "time.sleep");
    assert.equal(inner.length, 2);
    assert.equal(sleeps.length, 2);
    assert.ok(contains(outer, middle) && inner.every((call) => contains(middle, call)));
    assert.ok(inner.every((call, i) => contains(call, sleeps[i]) && sleeps[i].cat === "c"));
    assert.ok(inner.every((call) => call.dur! >= 1900), "inner sleeps 2 ms");
    assert.ok(inner[0].ts! + inner[0].dur! <= inner[1].ts!);
    assert.equal(outer.name, `outer (${join(SHIM_FIXTURES, "nesting.py")}:13)`);
  });
});

Deno.test("ignore_c_function records no C calls", async () => {
  await eachPython(async (_version, python) => {
    const trace = only(await traced(python, "nesting.py", { config: { ignore_c_function: true } }));
    assert.equal(calls(trace, "inner").length, 2);
    assert.deepEqual(trace.events.filter((e) => e.cat === "c"), []);
  });
});

Deno.test("four named threads: four tids with their names", async () => {
  await eachPython(async (_version, python) => {
    const trace = only(await traced(python, "threads.py"));
    const work = calls(trace, "work");
    const tids = new Set(work.map((e) => e.tid));
    assert.equal(tids.size, 4);
    assert.ok(!tids.has(trace.otherData.pid as number), "workers are not the main thread");
    const names = new Map(
      trace.events.filter((e) => e.ph === "M" && e.name === "thread_name")
        .map((e) => [e.tid, e.args?.name]),
    );
    assert.deepEqual([...tids].map((tid) => names.get(tid)).sort(), [
      "worker-0",
      "worker-1",
      "worker-2",
      "worker-3",
    ]);
    assert.equal(names.get(trace.otherData.pid as number), "MainThread");
    for (const call of work) {
      const sleep = trace.events.find((e) => e.name === "time.sleep" && contains(call, e));
      assert.ok(sleep, "each worker's sleep is inside its work() on its own tid");
    }
  });
});

Deno.test("generators and coroutines: one slice per resume", async () => {
  await eachPython(async (_version, python) => {
    const trace = only(await traced(python, "generators.py"));
    assert.equal(calls(trace, "counter").length, 4, "3 yields and the final return");
    const steps = calls(trace, "step");
    assert.equal(steps.length, 6, "each step suspends once at its await");
    const [main] = calls(trace, "main").sort((a, b) => b.dur! - a.dur!);
    assert.ok(main, "the main coroutine is recorded");
  });
});

Deno.test("exceptions: unwinding closes every call", async () => {
  await eachPython(async (_version, python) => {
    const trace = only(await traced(python, "exceptions.py"));
    const [outer] = calls(trace, "outer");
    const [middle] = calls(trace, "middle");
    const [fail] = calls(trace, "fail");
    const [after] = calls(trace, "after");
    assert.ok(contains(outer, middle) && contains(middle, fail));
    assert.ok(after.ts! >= outer.ts! + outer.dur!, "after() starts once outer() has ended");
    assert.equal(trace.tracerEnd.unfinished, 0);
  });
});

Deno.test("include/exclude: excluded code is gone, the included code it calls stays", async () => {
  const lib = join(SHIM_FIXTURES, "lib");
  await eachPython(async (_version, python) => {
    for (
      const config of [{ exclude_files: [lib + "/"] }, {
        include_files: [join(SHIM_FIXTURES, "filters.py")],
      }]
    ) {
      const trace = only(await traced(python, "filters.py", { config }));
      assert.equal(calls(trace, "run").length, 0, JSON.stringify(config));
      assert.equal(calls(trace, "callback").length, 1, JSON.stringify(config));
      assert.equal(calls(trace, "deep").length, 6);
    }
    const all = only(await traced(python, "filters.py"));
    const [run] = calls(all, "run");
    assert.ok(contains(run, calls(all, "callback")[0]), "unfiltered, callback runs inside run");
  });
});

Deno.test("max_stack_depth and min_duration_us", async () => {
  await eachPython(async (_version, python) => {
    const shallow = only(
      await traced(python, "filters.py", { config: { max_stack_depth: 3 } }),
    );
    assert.equal(calls(shallow, "<module>").filter((e) => /filters\.py/.test(e.name!)).length, 1);
    assert.equal(calls(shallow, "deep").length, 2, "depth 2 and 3 only");
    const long = only(await traced(python, "filters.py", { config: { min_duration_us: 5000 } }));
    assert.equal(calls(long, "slow").length, 1, "slow() sleeps 20 ms");
    // Which short calls a busy machine stretches past 5 ms varies: the rule is what is checked.
    assert.ok(long.events.every((e) => e.ph !== "X" || e.dur! >= 5000));
    const every = only(await traced(python, "filters.py"));
    const complete = (trace: TraceFile) => trace.events.filter((e) => e.ph === "X").length;
    assert.ok(complete(long) < complete(every) / 2, "most calls are shorter and were dropped");
  });
});

Deno.test("tracer_entries caps the events and counts the rest as dropped", async () => {
  await eachPython(async (_version, python) => {
    const full = only(await traced(python, "fib.py"));
    const capped = only(await traced(python, "fib.py", { config: { tracer_entries: 50 } }));
    assert.equal(capped.tracerEnd.events, 50);
    const calls = capped.events.filter((e) => e.ph === "X" && e.cat !== "tracer");
    assert.equal(calls.length, 50);
    // fib's recursion has a gap between its first 25 and last 25 calls: slices mark it.
    const gaps = capped.events.filter((e) => e.cat === "tracer");
    assert.ok(gaps.length >= 1);
    for (const gap of gaps) {
      assert.deepEqual([gap.ph, gap.args?.left_out], ["X", capped.tracerEnd.dropped_events]);
    }
    assert.equal(
      (capped.tracerEnd.events as number) + (capped.tracerEnd.dropped_events as number),
      full.tracerEnd.events,
    );
  });
});

Deno.test("exit status, stdin, stdout, stderr and tracebacks pass through", async () => {
  await eachPython(async (_version, python) => {
    for (const mode of ["0", "3", "raise"]) {
      const options = { args: [mode], stdin: "hello\n" };
      const [run, plain] = await Promise.all([
        traced(python, "passthrough.py", options),
        untraced(python, "passthrough.py", options),
      ]);
      assert.equal(run.code, plain.code);
      assert.equal(run.stdout, plain.stdout);
      assert.equal(run.stderr, plain.stderr);
      assert.equal(run.traces.length, 1);
    }
  });
});

Deno.test("argv, __main__, sys.path[0], __file__ and a user sitecustomize are unchanged", async () => {
  const userSite = join(SHIM_FIXTURES, "user_site");
  await eachPython(async (_version, python) => {
    const options = { args: ["a", "--b"], pythonPath: [userSite] };
    const [run, plain] = await Promise.all([
      traced(python, "identity.py", options),
      untraced(python, "identity.py", options),
    ]);
    assert.equal(run.stderr, "");
    assert.deepEqual(JSON.parse(run.stdout), JSON.parse(plain.stdout));
    assert.equal(JSON.parse(run.stdout).sitecustomize_marker, true);
    assert.equal(run.traces.length, 1);
  });
});

Deno.test("a process killed by SIGKILL leaves every call it finished, converted to valid JSON", async () => {
  await eachPython(async (_version, python) => {
    const run = await traced(python, "sigkill.py");
    assert.equal(run.signal, "SIGKILL");
    assert.equal(run.traces.length, 1);
    const fib = calls(run.traces[0], "fib");
    assert.equal(fib.length, 92_735, "every call of fib(23), made before the kill");
  });
});

Deno.test("a forked child writes its own file, from the fork on", async () => {
  await eachPython(async (_version, python) => {
    const run = await traced(python, "fork.py");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.traces.length, 2);
    const parentPid = run.traces.map((t) => t.otherData.ppid).find((ppid) =>
      run.traces.some((t) => t.otherData.pid === ppid)
    );
    const parent = run.traces.find((t) => t.otherData.pid === parentPid)!;
    const child = run.traces.find((t) => t.otherData.pid !== parentPid)!;
    assert.equal(child.otherData.parent_file, parent.name);
    assert.equal(calls(child, "before_fork").length, 0, "no events from before the fork");
    assert.equal(calls(child, "in_parent").length, 0);
    assert.equal(calls(child, "in_child").length, 1);
    assert.equal(calls(parent, "in_child").length, 0);
    assert.equal(calls(parent, "in_parent").length, 1);
    const [childRun] = calls(child, "run");
    assert.ok(childRun && contains(childRun, calls(child, "in_child")[0]));
    const [beforeFork] = calls(parent, "before_fork");
    assert.ok(childRun.ts! >= beforeFork.ts! + beforeFork.dur!, "open calls start at the fork");
    assert.equal(childRun.args?.unfinished, true, "the child left run() through os._exit");
  });
});

Deno.test("trace_children false, _thread threads, and a second start that does nothing", async () => {
  const userSite = join(SHIM_FIXTURES, "user_site");
  await eachPython(async (_version, python) => {
    const run = await traced(python, "children_env.py", {
      config: { trace_children: false },
      pythonPath: [userSite],
    });
    const trace = only(run);
    assert.deepEqual(JSON.parse(run.stdout), { config: false, pythonpath: userSite, threads: 1 });
    const [raw] = calls(trace, "in_raw_thread");
    assert.ok(raw && raw.tid !== trace.otherData.pid, "the _thread thread has its own tid");
    assert.ok(trace.events.some((e) => e.name === "time.sleep" && contains(raw, e)));
  });
});

Deno.test("python -m: the process is named by its command line", async () => {
  await eachPython(async (_version, python) => {
    const trace = only(await traced(python, "", { argv: ["-m", "as_module"], args: ["x"] }));
    const processName = trace.events.find((e) => e.ph === "M" && e.name === "process_name");
    assert.equal(processName?.args?.name, `${basename(python)} -m as_module x`);
    assert.equal(calls(trace, "main").length, 1);
  });
});

Deno.test("a bad TRACER_CONFIG: one tracer: line on stderr, the program runs untraced", async () => {
  await using dir = await tempDir();
  await eachPython(async (_version, python) => {
    const run = await runCommand([python, join(SHIM_FIXTURES, "identity.py")], {
      cwd: dir.path,
      env: { PYTHONPATH: SHIM_DIR, TRACER_CONFIG: JSON.stringify({ version: 99 }) },
    });
    assert.equal(run.code, 0);
    assert.match(
      run.stderr,
      /^tracer: not tracing process \d+: TRACER_CONFIG: 'output_dir' must be str\n$/,
    );
    assert.equal(JSON.parse(run.stdout).name, "__main__");
    assert.deepEqual([...Deno.readDirSync(dir.path)], []);
  });
});

Deno.test("a fork child records into its own file only, the program's fork hooks included", async () => {
  await eachPython(async (_version, python) => {
    const run = await traced(python, "fork_hooks.py");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.traces.length, 2);
    const child = run.traces.find((t) => t.otherData.parent_file !== undefined)!;
    const parent = run.traces.find((t) => t !== child)!;
    assert.equal(calls(child, "work").length, 0, "nothing of the parent is repeated");
    assert.equal(calls(parent, "work").length, 38000);
    assert.equal(calls(child, "in_child").length, 1);
    assert.equal(
      calls(parent, "in_child").length,
      0,
      "nothing of the child's in the parent's file",
    );
    assert.equal(calls(parent, "hooked").length, 2, "the before and after_in_parent hooks");
    assert.equal(calls(child, "hooked").length, 1, "the after_in_child hook");
    const fork = parent.events.find((e) => e.name === "posix.fork")!;
    assert.ok(fork, "the parent recorded its os.fork call");
    for (const event of child.events.filter((e) => e.ph === "X")) {
      assert.ok(event.ts! >= fork.ts!, `${event.name} starts after the fork began`);
    }
  });
});

Deno.test("a fork child SIGTERMed while its file is set up writes a whole file, then dies of it", async () => {
  await eachPython(async (_version, python) => {
    const run = await traced(python, "fork_term_at_start.py");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), "15", "the child died of SIGTERM");
    assert.equal(run.traces.length, 2, "each file has its header and end record");
    const child = run.traces.find((t) => t.otherData.parent_file !== undefined)!;
    assert.equal(child.tracerEnd.exit, "signal:SIGTERM");
    assert.equal(calls(child, "work").length, 0, "nothing of the parent is repeated");
  });
});
