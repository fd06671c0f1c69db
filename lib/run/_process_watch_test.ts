import assert from "node:assert/strict";
import { describe, liveTracedProcesses, waitForTracedProcesses } from "./_process_watch.ts";

const isLinux = Deno.build.os === "linux";

/** A process with the marker in its environment that runs until its stdin is closed. */
function markedProcess(marker: string): Deno.ChildProcess {
  return new Deno.Command("cat", {
    env: { TRACER_CONFIG: `{${marker}}` },
    stdin: "piped",
    stdout: "null",
  }).spawn();
}

Deno.test({
  name: "a process whose environment holds the marker is found until it exits",
  ignore: !isLinux,
  async fn() {
    const marker = `"run_id":"${crypto.randomUUID()}"`;
    const child = markedProcess(marker);
    const dir = await Deno.makeTempDir();
    try {
      const live = await liveTracedProcesses(marker, dir);
      assert.deepEqual(live.map((p) => p.pid), [child.pid]);
      assert.match(live[0].command, /(^|\/)cat$/);
      const lines: string[] = [];
      const left = await waitForTracedProcesses({
        marker,
        dataDir: dir,
        timeoutS: 600, // only a real hang reaches it: the child ends once the line is out
        report: (line) => {
          lines.push(line);
          child.stdin.close();
        },
        pollMs: 20,
      });
      assert.deepEqual(left, []);
      assert.equal(lines.length, 1);
      assert.match(lines[0], new RegExp(`^waiting for 1 traced process: ${child.pid} \\S*cat `));
      await child.status;
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "waiting stops at the timeout and returns the processes still running",
  ignore: !isLinux,
  async fn() {
    const marker = `"run_id":"${crypto.randomUUID()}"`;
    const child = markedProcess(marker);
    const dir = await Deno.makeTempDir();
    try {
      const left = await waitForTracedProcesses({
        marker,
        dataDir: dir,
        timeoutS: 0.3,
        report: () => {},
        pollMs: 20,
      });
      // The child runs until its stdin closes: only the timeout can have ended the wait.
      assert.deepEqual(left.map((p) => p.pid), [child.pid]);
    } finally {
      await child.stdin.close();
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("describe names at most five processes", () => {
  const processes = Array.from(
    { length: 7 },
    (_, i) => ({ pid: 100 + i, command: "python3 w.py" }),
  );
  assert.equal(
    describe(processes),
    "100 python3 w.py, 101 python3 w.py, 102 python3 w.py, 103 python3 w.py, 104 python3 w.py, and 2 more",
  );
});
