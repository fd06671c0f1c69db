import assert from "node:assert/strict";
import { DEFAULT_OUTPUT, duration, parseArgs, type RunCommand } from "./args.ts";
import { UsageError } from "../errors.ts";

function run(argv: string[]): RunCommand {
  const command = parseArgs(argv);
  assert.equal(command.kind, "run");
  return command as RunCommand;
}

Deno.test("everything after the script belongs to the program, options included", () => {
  const command = run(["-o", "x.json", "app.py", "-o", "--help", "a"]);
  assert.deepEqual(command.target, { kind: "script", path: "app.py", args: ["-o", "--help", "a"] });
  assert.deepEqual(command.output, { path: "x.json", format: "json" });
});

Deno.test("-m and -c take the rest of argv as the program's arguments", () => {
  assert.deepEqual(run(["-m", "http.server", "-h"]).target, {
    kind: "module",
    name: "http.server",
    args: ["-h"],
  });
  assert.deepEqual(run(["--quiet", "-c", "print(1)", "x"]).target, {
    kind: "code",
    code: "print(1)",
    args: ["x"],
  });
});

Deno.test("-- and --run end tracer's options", () => {
  assert.deepEqual(run(["--", "-weird.py", "1"]).target, {
    kind: "script",
    path: "-weird.py",
    args: ["1"],
  });
  assert.equal(run(["--run", "a.py"]).target.kind, "script");
});

Deno.test("defaults: report output, children traced, 30 s wait", () => {
  const command = run(["a.py"]);
  assert.deepEqual(command.output, { path: DEFAULT_OUTPUT, format: "html" });
  assert.equal(command.recording.trace_children, true);
  assert.equal(command.recording.max_stack_depth, -1);
  assert.equal(command.recording.log_func_args, false);
  assert.equal(command.recording.flight_s, 0);
  assert.equal(command.waitTimeoutS, 30);
  assert.equal(command.quiet, false);
});

Deno.test("recording options, with = and repeated path options", () => {
  const command = run([
    "--ignore_c_function",
    "--max_stack_depth=3",
    "--include_files",
    "src",
    "--include_files=lib",
    "--exclude_files",
    "venv",
    "--min_duration",
    "0.5ms",
    "--tracer_entries",
    "1000",
    "--flight",
    "2.5",
    "--ignore_multiprocess",
    "--log_subprocess",
    "--core",
    "native",
    "--log_func_args",
    "--log_func_retval",
    "--log_exception",
    "--log_async",
    "--log_gc",
    "--wait_timeout",
    "2.5",
    "a.py",
  ]);
  assert.deepEqual(command.recording, {
    ignore_c_function: true,
    max_stack_depth: 3,
    include_files: ["src", "lib"],
    exclude_files: ["venv"],
    min_duration_us: 500,
    tracer_entries: 1000,
    flight_s: 2.5,
    trace_children: false,
    core: "native",
    log_func_args: true,
    log_func_retval: true,
    log_exception: true,
    log_async: true,
    log_gc: true,
  });
  assert.equal(command.waitTimeoutS, 2.5);
});

Deno.test("--core defaults to auto and takes only auto, python or native", () => {
  assert.equal(run(["a.py"]).recording.core, "auto");
  assert.equal(run(["--core=python", "a.py"]).recording.core, "python");
  assert.throws(() => parseArgs(["--core", "c", "a.py"]), /--core needs auto, python or native/);
});

Deno.test("--pid_suffix keeps per-process files and refuses -o", () => {
  const command = run(["--pid_suffix", "--output_dir", "d", "a.py"]);
  assert.equal(command.output, null);
  assert.equal(command.outputDir, "d");
  assert.throws(() => parseArgs(["--pid_suffix", "-o", "x.json", "a.py"]), UsageError);
});

Deno.test("--combine takes files until the end", () => {
  assert.deepEqual(parseArgs(["--combine", "a.json", "b.json.gz", "-o", "r.json", "c.json"]), {
    kind: "combine",
    inputs: ["a.json", "b.json.gz", "c.json"],
    output: { path: "r.json", format: "json" },
    outputDir: null,
    align: false,
    strict: false,
    quiet: false,
    open: false,
  });
  const aligned = parseArgs(["--align_combine", "--strict", "--combine", "d"]);
  assert.equal(aligned.kind === "combine" && aligned.align && aligned.strict, true);
});

Deno.test("help and version win over everything", () => {
  assert.deepEqual(parseArgs(["--version", "a.py"]), { kind: "version" });
  assert.deepEqual(parseArgs(["-h"]), { kind: "help" });
});

Deno.test("bad input is a UsageError with a message that says what to do", () => {
  const cases: [string[], RegExp][] = [
    [[], /no script to trace/],
    [["--nope", "a.py"], /unknown option --nope/],
    [["-o"], /-o needs a value/],
    [["-o", "x.txt", "a.py"], /\.html, \.json or \.json\.gz/],
    [["--max_stack_depth", "x", "a.py"], /whole number/],
    [["--tracer_entries", "0", "a.py"], /whole number >= 1/],
    [["--min_duration", "5 parsecs", "a.py"], /--min_duration/],
    [["--wait_timeout", "-1", "a.py"], /--wait_timeout/],
    [["--flight", "-1", "a.py"], /--flight needs a number of seconds > 0, got "-1"/],
    [["--flight", "abc", "a.py"], /--flight needs a number of seconds > 0, got "abc"/],
    [["--flight", "0", "a.py"], /--flight needs a number of seconds > 0/],
    [["--combine"], /at least one trace file/],
    [["--align_combine", "a.py"], /only applies to --combine/],
    [["--quiet=1", "a.py"], /takes no value/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseArgs(argv), (error: unknown) => {
      assert.ok(error instanceof UsageError, `${argv.join(" ")}: ${error}`);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("durations in ns, us, ms, s; bare numbers are microseconds", () => {
  assert.equal(duration("5us"), 5);
  assert.equal(duration("100ns"), 0.1);
  assert.equal(duration("0.5ms"), 500);
  assert.equal(duration("2s"), 2_000_000);
  assert.equal(duration("20"), 20);
});

Deno.test("attach PID: the word first, then options and the pid in any order", () => {
  const command = parseArgs([
    "attach",
    "-o",
    "x.json",
    "1234",
    "--duration",
    "2.5",
    "--core=native",
  ]);
  assert.equal(command.kind, "attach");
  if (command.kind !== "attach") return;
  assert.equal(command.pid, 1234);
  assert.equal(command.durationS, 2.5);
  assert.deepEqual(command.output, { path: "x.json", format: "json" });
  assert.equal(command.recording.core, "native");
  const plain = parseArgs(["attach", "7"]);
  assert.ok(plain.kind === "attach" && plain.durationS === null && plain.output.format === "html");
  // A program named attach runs as one when it is not the first word.
  assert.deepEqual(run(["--", "attach", "7"]).target, {
    kind: "script",
    path: "attach",
    args: ["7"],
  });
});

Deno.test("attach: one whole pid, a duration > 0, no run-only option", () => {
  for (
    const [argv, message] of [
      [["attach"], /no pid given; usage: tracer attach PID/],
      [["attach", "1", "2"], /more than one pid given/],
      [["attach", "x1"], /not a process id: "x1"/],
      [["attach", "-5"], /not a process id: "-5"/],
      [["attach", "0"], /not a process id: "0"/],
      [["attach", "1", "--duration", "0"], /--duration needs a number of seconds > 0/],
      [["attach", "1", "--duration", "soon"], /--duration needs a number of seconds/],
      [["attach", "1", "--pid_suffix"], /--pid_suffix does not apply to tracer attach/],
      [["attach", "1", "-m", "x"], /takes a pid, not a program/],
      [["--duration", "1", "a.py"], /--duration only applies to tracer attach/],
    ] as const
  ) {
    assert.throws(
      () => parseArgs([...argv]),
      (e) => e instanceof UsageError && message.test(e.message),
    );
  }
});
