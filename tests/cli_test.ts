/**
 * End-to-end tests of the CLI (issue: trace a Python program and all its threads): the program
 * behaves as untraced, the outputs exist and hold its events, and bad input gets one clear line.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertOneLineError,
  eventsOf,
  FIXTURES,
  readJson,
  runCli,
  runCommand,
  tempDir,
  withoutCoreNote,
} from "./helpers.ts";

const CLI = join(FIXTURES, "cli");

Deno.test("the program sees what it sees untraced: argv, __main__, sys.path[0], stdio, exit", async () => {
  await using dir = await tempDir();
  const script = join(CLI, "echo_exit.py");
  const plain = await runCommand(["python3", script, "3", "--flag"], {
    stdin: "in",
    cwd: dir.path,
  });
  const out = join(dir.path, "out.json");
  const traced = await runCli(["-o", out, script, "3", "--flag"], { stdin: "in", cwd: dir.path });
  assert.equal(plain.code, 3);
  assert.equal(traced.code, 3);
  assert.equal(traced.stdout, plain.stdout);
  assert.match(withoutCoreNote(traced.stderr), /^to stderr\n/);
  assert.match(traced.stderr, /tracer: 1 process, 1 thread, [\d,]+ events -> .*out\.json/);
  const names = eventsOf(await readJson(out)).map((event) => event.name);
  assert.ok(names.some((name) => name?.startsWith("work (") && name.includes("echo_exit.py:")));
});

Deno.test("an uncaught exception keeps its traceback and exit status 1", async () => {
  await using dir = await tempDir();
  const result = await runCli(["-o", join(dir.path, "t.json"), join(CLI, "raises.py")]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Traceback \(most recent call last\)/);
  assert.match(result.stderr, /ValueError: boom from fixture/);
});

Deno.test("four named threads give four tids with their names", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "t.json");
  const result = await runCli(["--quiet", "-o", out, join(CLI, "threads.py")]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(withoutCoreNote(result.stderr), "");
  const events = eventsOf(await readJson(out));
  const names = new Map<unknown, string>();
  for (const event of events) {
    if (event.ph === "M" && event.name === "thread_name") {
      names.set(event.tid, String(event.args?.name));
    }
  }
  const workerTids = new Set(
    events.filter((e) => e.ph === "X" && e.name?.startsWith("worker_body")).map((e) => e.tid),
  );
  assert.equal(workerTids.size, 4);
  assert.deepEqual(
    [...workerTids].map((tid) => names.get(tid)).sort(),
    ["worker-0", "worker-1", "worker-2", "worker-3"],
  );
});

Deno.test("-m and -c run like python -m and python -c", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "m.json");
  const module = await runCli(["-q", "-o", out, "-m", "json.tool", "--sort-keys"], {
    stdin: '{"b":1,"a":2}',
  });
  assert.equal(module.code, 0, module.stderr);
  assert.equal(module.stdout, '{\n    "a": 2,\n    "b": 1\n}\n');
  const code = await runCli(["-q", "-o", out, "-c", "import sys; print(sys.argv)", "x", "-y"]);
  assert.equal(code.stdout, "['-c', 'x', '-y']\n");
});

Deno.test("-q: an output that replaces an existing file is still said, on one line", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "q.json");
  const first = await runCli(["-q", "-o", out, "-c", "pass"]);
  assert.equal(first.stderr, "");
  const second = await runCli(["-q", "-o", out, "-c", "pass"]);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stderr, `tracer: ${out} replaced the previous file\n`);
});

Deno.test("--pid_suffix --output_dir leaves result_<pid>.json and nothing else", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "d");
  const result = await runCli(["--pid_suffix", "--output_dir", out, join(CLI, "threads.py")]);
  assert.equal(result.code, 0, result.stderr);
  const names = [...Deno.readDirSync(out)].map((entry) => entry.name);
  assert.equal(names.length, 1);
  assert.match(names[0], /^result_\d+\.json$/);
  const trace = await readJson(join(out, names[0])) as { otherData: { pid: number } };
  assert.equal(`result_${trace.otherData.pid}.json`, names[0]);
});

Deno.test(".json.gz output is gzip-compressed Chrome trace JSON", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "t.json.gz");
  const result = await runCli(["-q", "-o", out, join(CLI, "threads.py")]);
  assert.equal(result.code, 0, result.stderr);
  const bytes = await Deno.readFile(out);
  assert.deepEqual([...bytes.subarray(0, 2)], [0x1f, 0x8b]);
  const text = await new Response(
    new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")),
  ).text();
  assert.ok(eventsOf(JSON.parse(text)).some((e) => e.name?.startsWith("worker_body")));
});

Deno.test("bad input: one line on stderr, exit 2, no stack trace", async () => {
  await using dir = await tempDir();
  const cases: [string[], RegExp][] = [
    [["--bogus", "x.py"], /unknown option --bogus/],
    [[join(dir.path, "missing.py")], /cannot open script .*missing\.py/],
    [
      ["--python", join(dir.path, "nopython"), join(CLI, "threads.py")],
      /--python .* is not an executable/,
    ],
    [["-o", "x.txt", join(CLI, "threads.py")], /\.html, \.json or \.json\.gz/],
  ];
  for (const [argv, pattern] of cases) {
    const result = await runCli(argv, { cwd: dir.path });
    assert.equal(result.code, 2, argv.join(" "));
    assert.equal(result.stdout, "");
    assertOneLineError(result.stderr, pattern);
  }
});

Deno.test("an unwritable output fails before the program runs, exit 2", async () => {
  await using dir = await tempDir();
  const result = await runCli([
    "-o",
    join(dir.path, "no", "such", "dir", "x.json"),
    "-c",
    "print(1)",
  ]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assertOneLineError(result.stderr, /cannot write output file .*directory .* does not exist/);
});

Deno.test("no Python on PATH is one clear line", async () => {
  await using dir = await tempDir();
  const result = await runCli([join(CLI, "threads.py")], { env: { PATH: dir.path } });
  assert.equal(result.code, 2);
  assertOneLineError(result.stderr, /cannot find python3 or python on PATH/);
});

Deno.test("--version and --help print to stdout and exit 0", async () => {
  const version = await runCli(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^tracer \d+\.\d+\.\d+\n$/);
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--pid_suffix/);
});

Deno.test("at the --tracer_entries cap the loss is counted and a warning names the process", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "cap.json");
  const code = "def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)\nfib(16)";
  const result = await runCli(["--tracer_entries", "500", "-o", out, "-c", code]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /tracer: warning: process \d+ \(.*python.* -c .*\): [\d,]+ events dropped past the cap of 500 per process \(the first 250 and the last 250 calls are kept\); raise --tracer_entries/,
  );
  assert.match(result.stderr, /tracer: 1 process, 1 thread, [\d,]+ events \([\d,]+ dropped\)/);
  const events = eventsOf(await readJson(out)).filter((event) => event.ph === "X");
  assert.ok(events.length <= 500 + 10, `${events.length} events kept`);
});

for (const [format, status] of [["json", "0"], ["html", "3"]]) {
  Deno.test(`tracer -o out.${format} damaged_sibling.py ${status}: the damaged process file is skipped, the rest combined`, async () => {
    await using dir = await tempDir();
    const out = join(dir.path, `out.${format}`);
    const result = await runCli(["-o", out, join(CLI, "damaged_sibling.py"), status]);
    assert.equal(result.code, Number(status), "the program's exit status");
    assert.match(
      result.stderr,
      /^tracer: warning: process 4000001: skipped: its trace file is not a tracer raw trace file \(bad magic line\)$/m,
    );
    assert.match(result.stderr, /tracer: 1 process, 1 thread, [\d,]+ events -> /);
    if (format === "json") {
      const names = eventsOf(await readJson(out)).map((event) => event.name);
      assert.ok(names.some((name) => name?.startsWith("work (")), "the program's own process");
    } else {
      assert.ok((await Deno.stat(out)).size > 10_000, "the report was written");
    }
  });
}
