import assert from "node:assert/strict";
import { describe, liveTracedProcesses, waitForTracedProcesses } from "./process_watch.ts";

const isLinux = Deno.build.os === "linux";

Deno.test({
  name: "a process whose environment holds the marker is found until it exits",
  ignore: !isLinux,
  async fn() {
    const marker = `"run_id":"${crypto.randomUUID()}"`;
    const child = new Deno.Command("sleep", {
      args: ["0.8"],
      env: { TRACER_CONFIG: `{${marker}}` },
    }).spawn();
    const dir = await Deno.makeTempDir();
    try {
      const live = await liveTracedProcesses(marker, dir);
      assert.deepEqual(live.map((p) => p.pid), [child.pid]);
      assert.match(live[0].command, /sleep 0\.8$/);
      const lines: string[] = [];
      const left = await waitForTracedProcesses({
        marker,
        dataDir: dir,
        timeoutS: 10,
        report: (line) => lines.push(line),
        pollMs: 20,
      });
      assert.deepEqual(left, []);
      assert.equal(lines.length, 1);
      assert.match(
        lines[0],
        new RegExp(`^waiting for 1 traced process: ${child.pid} \\S*sleep 0\\.8`),
      );
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
    const child = new Deno.Command("sleep", { args: ["5"], env: { TRACER_CONFIG: marker } })
      .spawn();
    const dir = await Deno.makeTempDir();
    try {
      const started = Date.now();
      const left = await waitForTracedProcesses({
        marker,
        dataDir: dir,
        timeoutS: 0.3,
        report: () => {},
        pollMs: 20,
      });
      assert.deepEqual(left.map((p) => p.pid), [child.pid]);
      assert.ok(Date.now() - started < 2000);
    } finally {
      child.kill();
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
