/**
 * End-to-end tests of tracer under signals, hostile paths and hostile input (issue 11): every test
 * is named after the command line it runs, and asserts exit statuses, bytes, files and messages.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import {
  assertOneLineError,
  eventsOf,
  FIXTURES,
  noteSkipped,
  readJson,
  reportModel,
  ROOT,
  runCli,
  runCommand,
  spawnCli,
  tempDir,
} from "./helpers.ts";
import { concatBytes } from "../lib/bytes/concat.ts";

const HOSTILE = join(FIXTURES, "hostile");
const isLinux = Deno.build.os === "linux";

Deno.test({
  name: "kill -INT <tracer pid> during `tracer sleeper.py`: the program is interrupted",
  ignore: !isLinux,
  async fn() {
    await using dir = await tempDir();
    const out = join(dir.path, "t.json");
    const run = spawnCli(["-q", "-o", out, join(HOSTILE, "sleeper.py")]);
    await run.waitFor(/^ready$/m);
    Deno.kill(run.child.pid, "SIGINT");
    const result = await run.done();
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /KeyboardInterrupt/);
    assert.doesNotMatch(result.stdout, /slept to the end/);
    assert.ok(eventsOf(await readJson(out)).length > 0);
  },
});

Deno.test({
  name: "Ctrl-C at a terminal during `tracer count_sigint.py`: the program gets one SIGINT",
  ignore: !isLinux,
  async fn() {
    await using dir = await tempDir();
    const cli = [Deno.execPath(), "run", "-A", join(ROOT, "main.ts")];
    const args = ["-q", "-o", join(dir.path, "t.json"), join(HOSTILE, "count_sigint.py")];
    const result = await runCommand(["python3", join(HOSTILE, "pty_ctrl_c.py"), ...cli, ...args]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SIGINT 1/);
    assert.match(result.stdout, /total 1/);
    assert.doesNotMatch(result.stdout, /SIGINT 2/);
  },
});

Deno.test({
  name:
    "kill -TERM <tracer pid> while `tracer outlived.py` waits: waiting stops, the output is written",
  ignore: !isLinux,
  async fn() {
    await using dir = await tempDir();
    const out = join(dir.path, "t.json");
    const run = spawnCli(["-o", out, "--wait_timeout", "600", join(HOSTILE, "outlived.py")]);
    const child = Number((await run.waitFor(/^child (\d+)$/m))[1]);
    try {
      await run.waitFor(/waiting for 1 traced process/);
      Deno.kill(run.child.pid, "SIGTERM");
      await run.waitFor(/ -> .*t\.json/);
    } finally {
      Deno.kill(child, "SIGKILL"); // it holds tracer's stdout open
    }
    const result = await run.done();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /stopped waiting for 1 traced process still running/);
    // the process still running is in the output with what it recorded so far
    assert.match(result.stderr, /tracer: 2 processes, .* -> .*t\.json/);
    const events = eventsOf(await readJson(out));
    assert.ok(events.some((event) => event.name?.startsWith("<module>")));
    assert.ok(events.some((event) => event.pid === child && event.args?.unfinished));
  },
});

Deno.test({
  name:
    "kill -TERM <tracer pid> while `tracer -o t.json many_calls.py` writes: exit 143, no partial file, the data is kept with the command that finishes",
  ignore: !isLinux,
  async fn() {
    await using dir = await tempDir();
    const out = join(dir.path, "t.json");
    const run = spawnCli(["-o", out, join(HOSTILE, "many_calls.py"), "1000000"]);
    // The temp file beside the output exists exactly while the output is written.
    await run.waitFor(/calls done/);
    while (![...Deno.readDirSync(dir.path)].some((entry) => entry.name.endsWith(".tmp"))) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    Deno.kill(run.child.pid, "SIGTERM");
    const result = await run.done();
    assert.equal(result.code, 143, result.stderr); // the program's 0, but no output was written
    const match = /kept in (\S+); finish with: (tracer --combine \S+ -o \S+)$/m.exec(result.stderr);
    assert.ok(match, result.stderr);
    const kept = match[1];
    try {
      assert.deepEqual([...Deno.readDirSync(dir.path)], [], "no output, no temp file");
      assert.equal(match[2], `tracer --combine ${kept} -o ${out}`);
      const finished = await runCli(["--combine", kept, "-o", out]);
      assert.equal(finished.code, 0, finished.stderr);
      const calls = eventsOf(await readJson(out)).filter((e) => e.name?.startsWith("f ("));
      assert.equal(calls.length, 1_000_000);
    } finally {
      await Deno.remove(kept, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "kill -TERM <tracer pid> while --combine reads 4 GB of whitespace in a .gz: it stops within seconds, not at the file's end",
  ignore: !isLinux,
  async fn() {
    await using dir = await tempDir();
    // 4,000 gzip members of 1 MiB of blanks each (4 MB on disk): once, a whole minute of reading
    // between two events, and SIGTERM waited for the next event.
    const member = gzipSync(new Uint8Array(1 << 20).fill(0x20));
    const file = await Deno.open(join(dir.path, "blank.json.gz"), { write: true, create: true });
    await file.write(
      gzipSync(new TextEncoder().encode('[{"ph":"X","pid":1,"tid":1,"ts":1,"dur":1,"name":"a"}')),
    );
    for (let i = 0; i < 4000; i++) await file.write(member);
    await file.write(gzipSync(new TextEncoder().encode("]")));
    file.close();
    const out = join(dir.path, "out.json");
    const run = spawnCli(["--combine", join(dir.path, "blank.json.gz"), "-o", out]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const sent = performance.now();
    Deno.kill(run.child.pid, "SIGTERM");
    const result = await run.done();
    const took = performance.now() - sent;
    assert.equal(result.code, 143, result.stderr);
    assert.match(
      result.stderr,
      /^tracer: SIGTERM while (reading the inputs|writing \S+): stopped/m,
    );
    assert.ok(took < 2000, `stopped ${Math.round(took)} ms after SIGTERM`);
    assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["blank.json.gz"]);
  },
});

/** Runs tracer on a program that leaves the file `ran` in `cwd`: the test sees whether it ran. */
async function runMarking(args: string[], cwd: string) {
  const result = await runCli([...args, "-c", "open('ran', 'w').close()"], { cwd });
  const ran = await Deno.stat(join(cwd, "ran")).then(() => true, () => false);
  return { ...result, ran };
}

Deno.test("--combine: control characters in the data and in file names reach the terminal quoted", async () => {
  await using dir = await tempDir();
  const attack = "\u001b[2J\u001b]0;pwned\u0007";
  const good = join(dir.path, "good.json");
  await Deno.writeTextFile(
    good,
    JSON.stringify([
      { ph: "X", pid: 1, tid: 1, ts: 1, dur: 2, name: "a" },
      { ph: attack, pid: 1, tid: 1, ts: 3, name: "b" }, // a phase the report leaves out, named
    ]),
  );
  // deno-lint-ignore no-control-regex
  const controls = /[\u0000-\u001f\u007f-\u009f]/;
  const result = await runCli(["--combine", good, "-o", join(dir.path, "out.html")]);
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr.replaceAll("\n", ""), controls);
  assert.match(result.stderr, /\\x1b\[2J\\x1b\]0;pwned\\x07/, "the phase, quoted");
  const missing = join(dir.path, `gone${attack}\nline.json`);
  const refused = await runCli(["--combine", missing, "-o", join(dir.path, "out.html")]);
  assert.equal(refused.code, 2);
  assertOneLineError(
    refused.stderr,
    /gone\\x1b\[2J\\x1b\]0;pwned\\x07\\nline\.json does not exist/,
  );
  assert.doesNotMatch(refused.stderr.replace(/\n$/, ""), controls);
});

Deno.test("tracer -o x.html -c ... where x.html is a directory: exit 2 before the program runs", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "x.html"));
  const result = await runMarking(["-o", "x.html"], dir.path);
  assert.equal(result.code, 2);
  assertOneLineError(result.stderr, /cannot write output file .*x\.html: it is a directory/);
  assert.equal(result.ran, false);
});

Deno.test("tracer -o <a 100 KB name>.json -c ...: exit 2 before the program runs, one short line", async () => {
  await using dir = await tempDir();
  const result = await runMarking(["-o", "n".repeat(100_000) + ".json"], dir.path);
  assert.equal(result.code, 2);
  assertOneLineError(result.stderr, /cannot write output file .*n\.\.\.n+\.json: .*too long/i);
  assert.ok(result.stderr.length < 400, `${result.stderr.length} characters`);
  assert.equal(result.ran, false);
});

for (const [option, value] of [["--max_stack_depth", "0"], ["--wait_timeout", "0x10"]]) {
  Deno.test(`tracer ${option} ${value} -c ...: exit 2, one line, the program never runs`, async () => {
    await using dir = await tempDir();
    const result = await runMarking([option, value], dir.path);
    assert.equal(result.code, 2);
    assertOneLineError(result.stderr, new RegExp(`^tracer: ${option} needs .*got "${value}"`));
    assert.equal(result.ran, false);
  });
}

Deno.test("tracer -o link.json -c pass, link.json a symlink: the link is replaced and said so, its target kept", async () => {
  await using dir = await tempDir();
  const target = join(dir.path, "target.json");
  await Deno.writeTextFile(target, "keep");
  await Deno.symlink(target, join(dir.path, "link.json"));
  const result = await runCli(["-o", "link.json", "-c", "pass"], { cwd: dir.path });
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /link\.json \(.*, replaced the symbolic link there \(its target is untouched\)\)/,
  );
  assert.equal(await Deno.readTextFile(target), "keep");
  assert.equal((await Deno.lstat(join(dir.path, "link.json"))).isSymlink, false);
});

Deno.test("tracer -o k.json -c <SIGKILL itself>: exit 137, the message names the process, not a temp file gone", async () => {
  await using dir = await tempDir();
  const result = await runCli(
    ["-o", "k.json", "-c", "import os; os.kill(os.getpid(), 9)"],
    { cwd: dir.path, env: { TMPDIR: dir.path } },
  );
  assert.equal(result.code, 137);
  assert.match(result.stderr, /process \d+: ended without its end record \(killed\?\)/);
  assert.ok(!result.stderr.includes(dir.path + "/tracer_"), result.stderr);
  // what it did before the kill is kept, the kill itself open at the end
  const open = eventsOf(await readJson(join(dir.path, "k.json"))).filter((e) => e.args?.unfinished)
    .map((e) => String(e.name).split(" (")[0]);
  assert.deepEqual(open, ["<module>", "posix.kill"]);
});

/** `unshare -rm`: a private mount namespace where the test may mount a tiny tmpfs, or null. */
async function unshareWorks(): Promise<boolean> {
  const probe = await runCommand(["unshare", "-rm", "true"]).catch(() => null);
  if (probe?.code === 0) return true;
  noteSkipped("full-disk tests", "unshare -rm (a user mount namespace) is not available here");
  return false;
}

/** Runs tracer with a tmpfs of `size` mounted on `mountDir` (in a private mount namespace). */
function runCliOnSmallFs(mountDir: string, size: string, args: string[], cwd: string) {
  return runCommand([
    "unshare",
    "-rm",
    "python3",
    join(HOSTILE, "small_fs.py"),
    mountDir,
    size,
    Deno.execPath(),
    "run",
    "-A",
    join(ROOT, "main.ts"),
    ...args,
  ], { cwd });
}

Deno.test({
  name:
    "tracer -o full/a.json -c <exit 0>, no space left on full/: exit 0, one line, the data kept",
  ignore: !isLinux,
  async fn() {
    if (!await unshareWorks()) return;
    await using dir = await tempDir();
    const full = join(dir.path, "full");
    await Deno.mkdir(full);
    const result = await runCliOnSmallFs(
      full,
      "16k",
      ["-o", "full/a.json", "-c", "print('ran')"],
      dir.path,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "ran\n");
    const line = result.stderr.trim().split("\n").at(-1)!;
    const match =
      /^tracer: cannot write output file .*a\.json: No space left on device .*; the recorded data is kept in (\S+); finish with: tracer --combine \S+ -o \S+$/
        .exec(line);
    assert.ok(match, result.stderr);
    try {
      const finished = await runCli(["-q", "--combine", match[1], "-o", join(dir.path, "b.json")]);
      assert.equal(finished.code, 0, finished.stderr);
      assert.ok(eventsOf(await readJson(join(dir.path, "b.json"))).length > 0);
    } finally {
      await Deno.remove(match[1], { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "TMPDIR=<full> tracer -c ...: exit 1, one line naming TMPDIR, the program never runs",
  ignore: !isLinux,
  async fn() {
    if (!await unshareWorks()) return;
    await using dir = await tempDir();
    const full = join(dir.path, "tmp");
    await Deno.mkdir(full);
    // TMPDIR points into the small fs, for tracer alone (env, no shell).
    const again = await runCommand([
      "unshare",
      "-rm",
      "python3",
      join(HOSTILE, "small_fs.py"),
      full,
      "64k",
      "env",
      `TMPDIR=${full}`,
      Deno.execPath(),
      "run",
      "-A",
      join(ROOT, "main.ts"),
      "-o",
      "a.json",
      "-c",
      "print('ran')",
    ], { cwd: dir.path });
    assert.equal(again.code, 1);
    assertOneLineError(
      again.stderr,
      /cannot (write tracer's temp files|create a temp dir) in .*tmp \(No space left on device.*set TMPDIR to another directory$/,
    );
    assert.equal(again.stdout, "");
  },
});

Deno.test("TMPDIR=/nonexistent tracer -c ...: exit 1, one line, the program never runs", async () => {
  await using dir = await tempDir();
  const result = await runCli(["-c", "print('ran')"], {
    cwd: dir.path,
    env: { TMPDIR: join(dir.path, "nonexistent") },
  });
  assert.equal(result.code, 1);
  assertOneLineError(result.stderr, /cannot create a temp dir in .*nonexistent .*set TMPDIR/);
  assert.equal(result.stdout, "");
});

Deno.test("tracer --include_files <100 KB> --include_files <100 KB> -c ...: the program runs traced", async () => {
  await using dir = await tempDir();
  const long = (c: string) => "/" + c.repeat(100_000);
  const result = await runCli(
    [
      "-o",
      "t.json",
      "--include_files",
      long("a"),
      "--include_files",
      long("b"),
      "-c",
      "print('ran')",
    ],
    { cwd: dir.path },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "ran\n");
  assert.match(result.stderr, /tracer: 1 process, 1 thread, .* -> .*t\.json/);
});

Deno.test("tracer --python /bin/ls x.py, --python <a bad shebang>: exit 2, one line, nothing runs", async () => {
  await using dir = await tempDir();
  const bad = join(dir.path, "badpy");
  await Deno.writeTextFile(bad, "#!/nonexistent/interpreter\n", { mode: 0o755 });
  for (
    const [python, pattern] of [
      ["/bin/ls", /--python \/bin\/ls is not a Python interpreter/],
      [bad, /--python .*badpy cannot be started \(.*No such file or directory/],
    ] as const
  ) {
    const result = await runMarking(["--python", python], dir.path);
    assert.equal(result.code, 2, result.stderr);
    assertOneLineError(result.stderr, pattern);
    assert.equal(result.ran, false);
  }
});

const PYENV = join(Deno.env.get("HOME") ?? "/root", ".pyenv", "versions");
for (const version of ["2.7", "3.6", "3.7"]) {
  Deno.test(`tracer --python <Python ${version}> -c ...: exit 2, one line naming the version`, async () => {
    const dirs = [...Deno.readDirSync(PYENV)].map((entry) => entry.name)
      .filter((name) => name.startsWith(version + "."));
    if (dirs.length === 0) return noteSkipped(`Python ${version} refusal`, "not installed");
    await using dir = await tempDir();
    const python = join(PYENV, dirs[0], "bin", "python");
    const result = await runMarking(["--python", python], dir.path);
    assert.equal(result.code, 2);
    assertOneLineError(
      result.stderr,
      new RegExp(`is Python ${version}; tracer needs CPython 3\\.8 or later`),
    );
    assert.equal(result.ran, false);
  });
}

Deno.test("tracer -o sub/t.json -c <removes sub, exits 0>: exit 0, the trouble on stderr", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "sub"));
  const result = await runCli(
    ["-o", "sub/t.json", "-c", "import shutil; shutil.rmtree('sub')"],
    { cwd: dir.path },
  );
  assert.equal(result.code, 0);
  const match =
    /^tracer: cannot write output file .*t\.json: No such file or directory.*kept in (\S+);/m
      .exec(result.stderr);
  assert.ok(match, result.stderr);
  await Deno.remove(match[1], { recursive: true });
});

/** Writes a trace file of `events` (Chrome Trace Event JSON text, as given) into `dir`. */
async function traceFile(dir: string, name: string, events: string[]): Promise<string> {
  const path = join(dir, name);
  await Deno.writeTextFile(path, `{"traceEvents":[\n${events.join(",\n")}\n]}\n`);
  return path;
}

const OK_EVENT = '{"ph":"X","name":"ok","pid":1,"tid":1,"ts":0,"dur":5}';

Deno.test('tracer --combine t.json -o t.html, an event with "dur": 1e307: done, the event named as left out', async () => {
  await using dir = await tempDir();
  const input = await traceFile(dir.path, "t.json", [
    OK_EVENT,
    '{"ph":"X","name":"huge","pid":1,"tid":1,"ts":1,"dur":1e307}',
  ]);
  const out = join(dir.path, "t.html");
  // Only a hang reaches the deadline (the loop this guards against never ends).
  const result = await runCli(["--combine", input, "-o", out], {
    signal: AbortSignal.timeout(120_000),
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /^tracer: warning: the report leaves out 1 event \(1 "X"\): a time that is not a finite number/m,
  );
  assert.ok((await Deno.stat(out)).size > 0);
});

/** A trace of `n` X events on one thread, as Chrome Trace Event JSON text. */
function manyEvents(n: number): string[] {
  return Array.from(
    { length: n },
    (_, i) => `{"ph":"X","name":"f${i}","pid":7,"tid":7,"ts":${i * 10},"dur":5}`,
  );
}

Deno.test("cat t.json | tracer --combine /dev/stdin -o p.json: every event, read once", async () => {
  await using dir = await tempDir();
  const text = `{"traceEvents":[\n${manyEvents(3000).join(",\n")}\n]}\n`;
  const out = join(dir.path, "p.json");
  const result = await runCli(["--combine", "/dev/stdin", "-o", out], { stdin: text });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /tracer: 1 process, 1 thread, 3,000 events -> /);
  assert.equal(eventsOf(await readJson(out)).filter((event) => event.ph === "X").length, 3000);
});

Deno.test({
  name: "tracer --combine fifo -o p.json (a named FIFO): read once, every event, no hang",
  ignore: !isLinux,
  async fn() {
    await using dir = await tempDir();
    const fifo = join(dir.path, "fifo");
    assert.equal((await runCommand(["mkfifo", fifo])).code, 0);
    const out = join(dir.path, "p.json");
    // Opening for writing waits for tracer's one open for reading; a second open would hang.
    const writing = Deno.open(fifo, { write: true }).then(async (file) => {
      await file.write(new TextEncoder().encode(`[${manyEvents(2000).join(",\n")}]`));
      file.close();
    });
    const result = await runCli(["--combine", fifo, "-o", out], {
      signal: AbortSignal.timeout(120_000), // a hang-only deadline
    });
    await writing;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /tracer: 1 process, 1 thread, 2,000 events -> /);
    assert.equal(eventsOf(await readJson(out)).filter((event) => event.ph === "X").length, 2000);
  },
});

const ODD_EVENTS = [
  '{"ph":"X","name":"a","pid":1,"tid":1,"ts":100,"dur":5}',
  '{"ph":"X","name":"nan","pid":1,"tid":1,"ts":NaN,"dur":5}',
  '{"ph":"X","name":"inf","pid":1,"tid":1,"ts":110,"dur":Infinity}',
  '{"ph":"X","name":"dup","pid":1,"tid":1,"ts":1000,"ts":2000,"dur":1}',
];

Deno.test("tracer --combine t.json -o o.json, events with NaN, Infinity and a ts given twice: counted, named, rebased once", async () => {
  await using dir = await tempDir();
  const input = await traceFile(dir.path, "t.json", ODD_EVENTS);
  const out = join(dir.path, "o.json");
  const result = await runCli(["--combine", input, "-o", out]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /^tracer: warning: .*t\.json: 2 events left out: not valid JSON \(a NaN or Infinity value/m,
  );
  assert.match(result.stderr, /tracer: 1 process, 1 thread, 2 events -> /);
  const text = await Deno.readTextFile(out);
  const dup = text.split("\n").find((line) => line.includes('"dup"'))!;
  assert.equal(dup.match(/"ts"/g)?.length, 1, dup);
  assert.match(dup, /"ts":1900\b/);
  assert.match(text, /"warnings":\[\{"source":"[^"]*t\.json","message":"2 events left out/);
});

Deno.test("tracer --combine a.json b.json, two hosts, a pid that is no JSON value: done, the event named as left out", async () => {
  await using dir = await tempDir();
  // A raw control byte in the pid string: the first pass counts the pid, the second leaves its
  // event out. Its host label once parsed the pid again: "internal error", exit 1.
  const a = join(dir.path, "a.json");
  await Deno.writeTextFile(
    a,
    '{"otherData":{"host":"h1"},"traceEvents":[\n' +
      '{"ph":"X","pid":"a\u0001b","tid":1,"ts":1,"dur":1,"name":"bad"},\n' + OK_EVENT + "\n]}\n",
  );
  const b = join(dir.path, "b.json");
  await Deno.writeTextFile(
    b,
    `{"otherData":{"host":"h2"},"traceEvents":[\n${OK_EVENT.replace('"pid":1', '"pid":2')}\n]}\n`,
  );
  const out = join(dir.path, "o.json");
  const result = await runCli(["--combine", a, b, "-o", out]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /a\.json: 1 event left out: not valid JSON/);
  const labels = eventsOf(await readJson(out)).filter((e) => e.name === "process_labels");
  assert.deepEqual(labels.map((e) => [e.pid, e.args?.labels]), [[1, "host h1"], [2, "host h2"]]);
});

Deno.test("tracer --combine t.json -o o.json --strict, an event with NaN: exit 1, one line", async () => {
  await using dir = await tempDir();
  const input = await traceFile(dir.path, "t.json", ODD_EVENTS.slice(0, 2));
  const result = await runCli(["--combine", input, "-o", join(dir.path, "o.json"), "--strict"]);
  assert.equal(result.code, 1);
  assertOneLineError(result.stderr, /t\.json: 1 event left out: not valid JSON.*--strict refuses/);
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((entry) => entry.name), ["t.json"]);
});

Deno.test("tracer --tracer_entries 10 -o k.json, then tracer --combine k.json -o k.html: the report keeps the run's warning", async () => {
  await using dir = await tempDir();
  const json = join(dir.path, "k.json");
  const run = await runCli([
    "-o",
    json,
    "--tracer_entries",
    "10",
    "-c",
    "def f(): pass\nfor _ in range(100): f()",
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /events dropped past the cap of 10 per process/);
  const html = join(dir.path, "k.html");
  const result = await runCli(["--combine", json, "-o", html]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /^tracer: warning: process \d+ .*events dropped past the cap of 10/m);
  const model = await reportModel(html);
  assert.ok(
    model.header.warnings.some((warning) => /dropped past the cap of 10/.test(warning.message)),
    JSON.stringify(model.header.warnings),
  );
});

Deno.test({
  name:
    "tracer x.py a<0xff>b, tracer s<0xff>.py: exit 2, one line naming the argument, nothing runs",
  ignore: !isLinux,
  async fn() {
    await using dir = await tempDir();
    await Deno.writeTextFile(join(dir.path, "x.py"), "open('ran', 'w').close()\n");
    const cli = [Deno.execPath(), "run", "-A", join(ROOT, "main.ts"), "-o", "t.json"];
    for (
      const [args, shown] of [[["x.py", "a<FF>b"], "a\\\\xffb"], [["s<FF>.py"], "s\\\\xff\\.py"]]
    ) {
      const result = await runCommand(
        ["python3", join(HOSTILE, "exec_bytes.py"), ...cli, ...args as string[]],
        { cwd: dir.path },
      );
      assert.equal(result.code, 2, result.stderr);
      assertOneLineError(
        result.stderr,
        new RegExp(`argument \\d+ \\(${shown}\\) is not valid UTF-8 text`),
      );
      assert.equal(await Deno.stat(join(dir.path, "ran")).then(() => true, () => false), false);
    }
  },
});

Deno.test({
  name:
    "kill -KILL <tracer pid> during `tracer orphan.py`: the orphan stops recording, the next run removes the dead run's dir",
  ignore: !isLinux,
  async fn() {
    await using dir = await tempDir();
    const tmp = join(dir.path, "tmp");
    await Deno.mkdir(tmp);
    const go = join(dir.path, "go");
    const run = spawnCli(["-o", join(dir.path, "t.json"), join(HOSTILE, "orphan.py"), go], {
      env: { TMPDIR: tmp },
    });
    await run.waitFor(/^ready$/m);
    Deno.kill(run.child.pid, "SIGKILL");
    await run.child.status;
    await Deno.writeTextFile(go, "");
    // The orphan holds tracer's stdout: its last line ends the output.
    const sizes = (await run.waitFor(/^sizes (\d+) (\d+)$/m)).slice(1).map(Number);
    assert.equal(sizes[1], sizes[0], "nothing written once the tracer was gone");
    await run.done();
    const left = [...Deno.readDirSync(tmp)].map((entry) => entry.name);
    assert.equal(left.length, 1);
    assert.match(left[0], /^tracer_run_/);
    const next = await runCli(["-q", "-o", join(dir.path, "u.json"), "-c", "pass"], {
      env: { TMPDIR: tmp },
    });
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual([...Deno.readDirSync(tmp)], []);
  },
});

/** Gzips `parts` (written one after another) into `path`. */
async function gzipFile(path: string, parts: Iterable<Uint8Array>): Promise<void> {
  const gzip = new CompressionStream("gzip");
  const writing = (async () => {
    const writer = gzip.writable.getWriter();
    for (const part of parts) await writer.write(part as Uint8Array<ArrayBuffer>);
    await writer.close();
  })();
  await Deno.writeFile(path, gzip.readable);
  await writing;
}

Deno.test("tracer --combine t.json.gz, an event holding an 80 MiB string: the event before it kept, a warning naming the limit", async () => {
  await using dir = await tempDir();
  const input = join(dir.path, "t.json.gz");
  const encoder = new TextEncoder();
  const block = new Uint8Array(1 << 20).fill(0x61);
  await gzipFile(input, [
    encoder.encode(`{"traceEvents":[${OK_EVENT},\n{"ph":"X","pid":1,"tid":1,"ts":0,"name":"`),
    ...Array.from({ length: 80 }, () => block),
    encoder.encode('"}]}'),
  ]);
  const result = await runCli(["--combine", input, "-o", join(dir.path, "o.json")]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /t\.json\.gz: an event larger than 64 MiB \(the most tracer reads\) at byte \d+: kept 1 events/,
  );
  assert.match(result.stderr, /tracer: 1 process, 1 thread, 1 event -> /);
});

Deno.test("tracer --combine t.json.gz, trailing garbage after its gzip data: every event, one warning; --strict refuses it", async () => {
  await using dir = await tempDir();
  const input = join(dir.path, "t.json.gz");
  const text = `{"traceEvents":[\n${manyEvents(2000).join(",\n")}\n]}\n`;
  // As gzip(1) and Python read it: "decompression OK, trailing garbage ignored".
  await Deno.writeFile(
    input,
    concatBytes([gzipSync(new TextEncoder().encode(text)), new TextEncoder().encode("junk\n")]),
  );
  const out = join(dir.path, "o.json");
  const result = await runCli(["--combine", input, "-o", out]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stderr.split("\n").filter((line) => line.startsWith("tracer: warning")).join("\n"),
    `tracer: warning: ${input}: trailing garbage after the gzip data ignored`,
  );
  assert.match(result.stderr, /tracer: 1 process, 1 thread, 2,000 events -> /);
  assert.equal(eventsOf(await readJson(out)).filter((event) => event.ph === "X").length, 2000);
  await Deno.remove(out);
  const strict = await runCli(["--combine", input, "-o", out, "--strict"]);
  assert.equal(strict.code, 1);
  assertOneLineError(
    strict.stderr,
    /t\.json\.gz: trailing garbage after the gzip data ignored \(--strict refuses damaged input\)/,
  );
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((entry) => entry.name), ["t.json.gz"]);
});

Deno.test("tracer --combine t.json, NUL bytes after the [: exit 1, one line naming the limit", async () => {
  await using dir = await tempDir();
  const input = join(dir.path, "t.json");
  using file = await Deno.open(input, { write: true, createNew: true });
  await file.write(new TextEncoder().encode('{"traceEvents":['));
  await file.truncate(16 + (80 << 20)); // the rest reads as NUL bytes
  const result = await runCli(["--combine", input, "-o", join(dir.path, "o.json")]);
  assert.equal(result.code, 1);
  assertOneLineError(
    result.stderr,
    /no events could be read .*t\.json: an event larger than 64 MiB/,
  );
});

Deno.test("tracer --combine of 40 .gz inputs, each with a 15 MiB otherData string: every event, the metadata cut to 64 MiB", async () => {
  await using dir = await tempDir();
  const encoder = new TextEncoder();
  const block = new Uint8Array(1 << 20).fill(0x78);
  for (let k = 0; k < 40; k++) {
    await gzipFile(join(dir.path, `m${String(k).padStart(2, "0")}.json.gz`), [
      encoder.encode(
        `{"traceEvents":[{"ph":"X","pid":${k + 1},"tid":1,"ts":${k},"dur":1,"name":"a"}],` +
          `"otherData":{"big":"`,
      ),
      ...Array.from({ length: 15 }, () => block),
      encoder.encode('"}}'),
    ]);
  }
  const out = join(dir.path, "o.json");
  const result = await runCli(["--combine", dir.path, "-o", out]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /the metadata of 3\d inputs was cut \(long strings left out\) to keep the output's metadata under 64 MiB/,
  );
  assert.ok((await Deno.stat(out)).size < (66 << 20));
  const trace = await readJson(out) as { otherData: { sources: Record<string, unknown>[] } };
  assert.equal(eventsOf(trace).filter((e) => e.ph === "X").length, 40);
  const sources = trace.otherData.sources;
  assert.equal(sources.length, 40);
  assert.deepEqual(sources.at(-1)!.otherData, { big: `(${15 << 20} characters left out)` });
});

Deno.test("tracer --combine DIR, a file in it whose name is not UTF-8: a warning that says so, the others combined", async () => {
  await using dir = await tempDir();
  const event = '{"traceEvents":[{"ph":"X","pid":1,"tid":1,"ts":1,"dur":1,"name":"a"}]}';
  await Deno.writeTextFile(join(dir.path, "ok.json"), event);
  // Deno names files with strings only: Python makes the name with the byte 0xff in it.
  const made = await runCommand([
    "python3",
    "-c",
    "import os, sys; open(os.path.join(os.fsencode(sys.argv[1]), b'bad\\xff.json'), 'w')" +
    ".write(sys.argv[2])",
    dir.path,
    event,
  ]);
  assert.equal(made.code, 0, made.stderr);
  const result = await runCli(["--combine", dir.path, "-o", join(dir.path, "o.json")]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /bad\uFFFD\.json: its name is not valid UTF-8 \(shown with \uFFFD\), which tracer cannot open; rename the file/,
  );
  assert.match(result.stderr, /tracer: 1 process, 1 thread, 1 event -> /);
});
