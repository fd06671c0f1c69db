/**
 * End-to-end tests of tracer under signals, hostile paths and hostile input (issue 11): every test
 * is named after the command line it runs, and asserts exit statuses, bytes, files and messages.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES, readJson, ROOT, runCli, runCommand, spawnCli, tempDir } from "./helpers.ts";
import type { TraceEvent } from "../lib/trace_event.ts";

const HOSTILE = join(FIXTURES, "hostile");
const isLinux = Deno.build.os === "linux";

function eventsOf(trace: unknown): TraceEvent[] {
  return (trace as { traceEvents: TraceEvent[] }).traceEvents;
}

function assertOneLineError(stderr: string, pattern: RegExp) {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0], /^tracer: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(stderr, /\bat .*\.ts:\d+/);
}

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
    assert.match(result.stderr, /tracer: 1 process, .* -> .*t\.json/);
    assert.ok(eventsOf(await readJson(out)).some((event) => event.name?.startsWith("<module>")));
  },
});

Deno.test({
  name:
    "kill -TERM <tracer pid> while `tracer -o t.json many_calls.py` writes: no partial file, the data is kept with the command that finishes",
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
    assert.equal(result.code, 0, result.stderr);
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

export { assertOneLineError };
