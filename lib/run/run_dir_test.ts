import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { pidNamespace, removeDeadRuns } from "./run_dir.ts";
import { PENDING_ATTACH_FILE } from "./attach.ts";

async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test({
  name: "only run dirs of this user whose tracer is provably gone are removed",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const root = await Deno.makeTempDir();
    try {
      const dead = await deadPid();
      const make = async (name: string, pid: number | null, ns?: string | null) => {
        await Deno.mkdir(join(root, name));
        if (pid !== null) {
          await Deno.writeTextFile(
            join(root, name, "config.json"),
            JSON.stringify({ tracer_pid: pid, tracer_pid_ns: ns ?? undefined }),
          );
        }
      };
      await make("tracer_run_dead", dead);
      await make("tracer_run_dead_here", dead, pidNamespace());
      // A run in another PID namespace (a container, unshare --pid) sharing TMPDIR: its tracer's
      // pid is not one of ours to look up, so it stays (it was removed while running, once)
      await make("tracer_run_other_namespace", dead, "pid:[1]");
      await make("tracer_run_alive", 1); // init: always running
      await make("tracer_run_noconfig", null);
      await make("tracer_kept_dead", dead); // data kept for tracer --combine: never removed
      await make("other_dead", dead);
      await Deno.symlink(join(root, "other_dead"), join(root, "tracer_run_link"));
      assertEquals((await removeDeadRuns(root)).sort(), [
        join(root, "tracer_run_dead"),
        join(root, "tracer_run_dead_here"),
      ]);
      const left = [...Deno.readDirSync(root)].map((entry) => entry.name).sort();
      assertEquals(left, [
        "other_dead",
        "tracer_kept_dead",
        "tracer_run_alive",
        "tracer_run_link",
        "tracer_run_noconfig",
        "tracer_run_other_namespace",
      ]);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "a dead attach's run dir stays while the process that may still run its script lives",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const root = await Deno.makeTempDir();
    try {
      const dead = await deadPid();
      for (const [name, pending] of [["waiting", "1"], ["ended", String(dead)]]) {
        const dir = join(root, `tracer_run_${name}`);
        await Deno.mkdir(dir);
        await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify({ tracer_pid: dead }));
        await Deno.writeTextFile(join(dir, PENDING_ATTACH_FILE), `${pending}\n`);
      }
      assertEquals(await removeDeadRuns(root), [join(root, "tracer_run_ended")]);
      assertEquals([...Deno.readDirSync(root)].map((entry) => entry.name), ["tracer_run_waiting"]);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
