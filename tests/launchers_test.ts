/**
 * Any command, not only Python (issue 21): `tracer CMD args` runs a console script or any other
 * executable as it is and traces every Python process below it; processes are named with the rank
 * a distributed launcher gave them, or the title they set themselves; a signal that stops tracer
 * before the output is written is its exit status.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertOneLineError,
  eventsOf,
  FIXTURES,
  noteSkipped,
  pythonMatrix,
  readJson,
  ROOT,
  runCli,
  runCommand,
  tempDir,
  testVenvProgram,
} from "./helpers.ts";
import type { TraceEvent } from "../lib/trace_event.ts";

const DIR = join(FIXTURES, "launchers");
const PYTHON3 = pythonMatrix(["3.11"]).values().next().value ?? "python3";

/** Each process's name in a combined trace, by pid: its last (a name given later wins). */
function namesByPid(events: TraceEvent[]): Map<TraceEvent["pid"], string> {
  const names = new Map<TraceEvent["pid"], string>();
  for (const e of events) {
    if (e.ph === "M" && e.name === "process_name") names.set(e.pid, String(e.args?.name));
  }
  return names;
}

/** The process names of a combined trace, sorted. */
function processNames(events: TraceEvent[]): string[] {
  return [...namesByPid(events).values()].sort();
}

/** The rank label (`[rank R/N...]`) of the process of each call of `fn`, sorted. */
function ranksOfCallers(events: TraceEvent[], fn: string): (string | undefined)[] {
  const names = namesByPid(events);
  return events.filter((e) => e.ph === "X" && e.name?.startsWith(`${fn} (`))
    .map((e) => names.get(e.pid)?.replace(/^.* \[/, "[")).sort();
}

/** The name of the process that called `fn`. */
function nameOfCaller(events: TraceEvent[], fn: string): string | undefined {
  const call = events.find((e) => e.ph === "X" && e.name?.startsWith(`${fn} (`));
  return namesByPid(events).get(call?.pid);
}

Deno.test("tracer mytool args: a console script on PATH runs as itself, traced", async () => {
  await using dir = await tempDir();
  const bin = join(dir.path, "bin");
  await Deno.mkdir(bin);
  // What pip writes for an entry point: a script whose shebang names its interpreter.
  await Deno.writeTextFile(
    join(bin, "mytool"),
    `#!${PYTHON3}\nimport sys\n\ndef main(argv):\n    print("mytool", *argv)\n    return 4\n\n` +
      "sys.exit(main(sys.argv[1:]))\n",
    { mode: 0o755 },
  );
  const env = { PATH: `${bin}:${Deno.env.get("PATH")}` };
  const run = await runCli(["-q", "-o", "t.json", "mytool", "a", "--b"], { cwd: dir.path, env });
  assert.equal(run.code, 4, run.stderr);
  assert.equal(run.stdout, "mytool a --b\n");
  const events = eventsOf(await readJson(join(dir.path, "t.json")));
  assert.equal(events.filter((e) => e.name?.startsWith("main (")).length, 1);
  assert.match(nameOfCaller(events, "main") ?? "", new RegExp(`${bin}/mytool a --b$`));
});

Deno.test("tracer ./run_two.sh and tracer -- CMD: a launcher that is not Python", async () => {
  await using dir = await tempDir();
  const env = { TRACER_TEST_PYTHON: PYTHON3 };
  for (const argv of [[join(DIR, "run_two.sh")], ["--", join(DIR, "run_two.sh")]]) {
    const run = await runCli(["-o", "t.json", ...argv], { cwd: dir.path, env });
    assert.equal(run.code, 3, run.stderr); // the launcher's own exit status
    assert.match(run.stderr, /tracer: 2 processes, /);
    const events = eventsOf(await readJson(join(dir.path, "t.json")));
    for (const fn of ["first", "second"]) {
      assert.equal(events.filter((e) => e.name?.startsWith(`${fn} (`)).length, 1, fn);
    }
    await Deno.remove(join(dir.path, "t.json"));
  }
});

Deno.test("tracer nosuchtool: one line, exit 2, nothing run", async () => {
  await using dir = await tempDir();
  const run = await runCli(["nosuchtool-xyz", "a"], { cwd: dir.path });
  assert.equal(run.code, 2);
  assertOneLineError(
    run.stderr,
    /cannot open script nosuchtool-xyz: no such file, nor a command on PATH/,
  );
});

Deno.test("ranks: a process a distributed launcher started is named with its rank", async () => {
  await Promise.all([...pythonMatrix(["3.8", "3.15"])].map(async ([version, python]) => {
    await using dir = await tempDir();
    const run = await runCli([
      "-q",
      "--python",
      python,
      "-o",
      "t.json",
      join(DIR, "ranks.py"),
      "RANK=1,WORLD_SIZE=2,LOCAL_RANK=1",
      "OMPI_COMM_WORLD_RANK=3,OMPI_COMM_WORLD_SIZE=4",
      "PMI_RANK=0,PMI_SIZE=2",
      "PMIX_RANK=5",
      "SLURM_PROCID=2,SLURM_NTASKS=8",
      "RANK=7", // no WORLD_SIZE: not torch.distributed's
    ], { cwd: dir.path });
    assert.equal(run.code, 0, `${version}: ${run.stderr}`);
    const child = `${python.split("/").pop()} ${join(DIR, "ranks.py")} child`;
    assert.deepEqual(
      processNames(eventsOf(await readJson(join(dir.path, "t.json")))),
      [
        child,
        `${child} [rank 0/2]`,
        `${child} [rank 1/2, local 1]`,
        `${child} [rank 2/8]`,
        `${child} [rank 3/4]`,
        `${child} [rank 5]`,
        `${python.split("/").pop()} ${join(DIR, "ranks.py")} ${
          [
            "RANK=1,WORLD_SIZE=2,LOCAL_RANK=1",
            "OMPI_COMM_WORLD_RANK=3,OMPI_COMM_WORLD_SIZE=4",
            "PMI_RANK=0,PMI_SIZE=2",
            "PMIX_RANK=5",
            "SLURM_PROCID=2,SLURM_NTASKS=8",
            "RANK=7",
          ].join(" ")
        }`,
      ].sort(),
      version,
    );
  }));
});

Deno.test("setproctitle: a process that sets its title is named by it, its fork child too", async () => {
  await Promise.all([...pythonMatrix(["3.8", "3.15"])].map(async ([version, python]) => {
    await using dir = await tempDir();
    const run = await runCli(
      ["-q", "--python", python, "-o", "t.json", join(DIR, "titled.py")],
      { cwd: dir.path },
    );
    assert.equal(run.code, 0, `${version}: ${run.stderr}`);
    const events = eventsOf(await readJson(join(dir.path, "t.json")));
    assert.deepEqual(processNames(events), ["ray::Child", "ray::Trainer.step"], version);
    const works = events.filter((e) => e.name?.startsWith("work ("));
    assert.equal(works.length, 2);
    assert.notEqual(works[0].pid, works[1].pid);
  }));
});

const PYTEST = testVenvProgram("pytest");
if (PYTEST === undefined) {
  noteSkipped(
    "tracer pytest -n 2",
    "no test venv (deno task test makes one; or set TRACER_TEST_VENV)",
  );
}

Deno.test({
  name: "tracer pytest -n 2: pytest-xdist's controller and both workers are traced",
  ignore: PYTEST === undefined,
  async fn() {
    await using dir = await tempDir();
    const tests = Array.from(
      { length: 6 },
      (_, i) => `def test_${i}():\n    assert helper(${i}) == ${i}\n`,
    );
    await Deno.writeTextFile(
      join(dir.path, "test_many.py"),
      `def helper(x):\n    return x\n\n\n${tests.join("\n\n")}`,
    );
    // The console script is found on PATH, as a user's shell would find it.
    const env = { PATH: `${join(PYTEST!, "..")}:${Deno.env.get("PATH")}` };
    const run = await runCli(
      ["-q", "-o", "t.json", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider", "test_many.py"],
      { cwd: dir.path, env },
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /6 passed/);
    const events = eventsOf(await readJson(join(dir.path, "t.json")));
    const helpers = events.filter((e) => e.ph === "X" && e.name?.startsWith("helper ("));
    assert.equal(helpers.length, 6);
    const controller = [...namesByPid(events)].find(([, name]) => name.includes("pytest -q -n 2"))
      ?.[0];
    assert.ok(controller !== undefined, processNames(events).join(", "));
    const workers = new Set(helpers.map((e) => e.pid));
    assert.ok(!workers.has(controller), "the tests ran in the workers");
    assert.ok(workers.size >= 1 && workers.size <= 2, `${workers.size} workers ran tests`);
  },
});

const ROOT_USER = Deno.build.os === "linux" && Deno.uid() === 0;
if (!ROOT_USER) noteSkipped("two hosts (unshare)", "needs root on Linux (unshare --uts --pid)");

Deno.test({
  name:
    "two hosts (unshare --uts --pid): each traced apart, one --combine keeps them apart by host",
  ignore: !ROOT_USER,
  async fn() {
    await using dir = await tempDir();
    for (const host of ["node-a", "node-b"]) {
      // A host of its own: its name (UTS namespace) and pids from 1 (PID namespace), so the two
      // runs' pids collide as on two machines. Python names the host, then becomes tracer.
      const become = "import os, socket, sys; socket.sethostname(sys.argv[1]); " +
        "os.execv(sys.argv[2], sys.argv[2:])";
      const run = await runCommand([
        "unshare",
        "--uts",
        "--pid",
        "--fork",
        "--mount-proc",
        "--",
        PYTHON3,
        "-c",
        become,
        host,
        Deno.execPath(),
        "run",
        "-A",
        join(ROOT, "main.ts"),
        "-q",
        "--python",
        PYTHON3,
        "--pid_suffix",
        "--output_dir",
        join(dir.path, host),
        join(DIR, "ranks.py"),
        "PMI_RANK=0,PMI_SIZE=1",
      ], { cwd: dir.path });
      assert.equal(run.code, 0, `${host}: ${run.stderr}`);
    }
    const out = join(dir.path, "all.json");
    const combined = await runCli(["--combine", "node-a", "node-b", "-o", out], { cwd: dir.path });
    assert.equal(combined.code, 0, combined.stderr);
    assert.match(combined.stderr, /4 processes/);
    const events = eventsOf(await readJson(out));
    const labels = new Map(
      events.filter((e) => e.name === "process_labels").map((e) => [e.pid, e.args?.labels]),
    );
    const pids = new Set(events.filter((e) => e.ph === "X").map((e) => e.pid));
    assert.equal(pids.size, 4, "the colliding pids stay apart");
    const hosts = [...pids].map((pid) =>
      /host (node-[ab])|on (node-[ab])/.exec(String(labels.get(pid)))
    );
    assert.deepEqual(hosts.map((match) => match?.[1] ?? match?.[2]).sort(), [
      "node-a",
      "node-a",
      "node-b",
      "node-b",
    ]);
    assert.equal(events.filter((e) => e.ph === "X" && e.name?.startsWith("work (")).length, 2);
  },
});

const VENV_PYTHON = testVenvProgram("python");

Deno.test({
  name:
    "Ray: a local job's workers keep every task call after ray.shutdown() SIGKILLs them, named by their titles",
  ignore: VENV_PYTHON === undefined,
  async fn() {
    await using dir = await tempDir();
    const run = await runCli(
      // Ray's own code left out: its names stay, the output stays small (it is ~0.5 GB)
      [
        "-q",
        "--python",
        VENV_PYTHON!,
        "--include_files",
        DIR,
        "-o",
        "t.json",
        join(DIR, "ray_job.py"),
      ],
      {
        cwd: dir.path,
        env: { RAY_USAGE_STATS_ENABLED: "0" },
        signal: AbortSignal.timeout(300_000), // a hang, not a slow machine
      },
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.stdout, "1240\n[0, 1, 3]\n");
    const events = eventsOf(await readJson(join(dir.path, "t.json")));
    const names = processNames(events);
    assert.ok(names.includes("ray::Counter"), names.join(", "));
    assert.ok(names.some((name) => name === "ray::IDLE" || name.startsWith("ray::square")));
    // ray.shutdown() SIGKILLs the workers: every task call they made is in the trace all the same
    const finished = (qualname: string) =>
      events.filter((e) =>
        e.ph === "X" && e.name?.startsWith(`${qualname} (`) && !e.args?.unfinished
      );
    assert.equal(finished("square").length, 16, "square() task calls");
    assert.equal(finished("Counter.add").length, 3, "Counter.add() actor calls");
    assert.equal(finished("Counter.__init__").length, 1);
  },
});

const TORCHRUN = testVenvProgram("torchrun");

Deno.test({
  name: "tracer torchrun --nproc_per_node 2: both ranks traced, each named by its rank",
  ignore: TORCHRUN === undefined,
  async fn() {
    await using dir = await tempDir();
    // torch's own code left out (the output stays small); the ranks' code is under DIR
    const run = await runCli(
      [
        "-q",
        "--include_files",
        DIR,
        "-o",
        "t.json",
        TORCHRUN!,
        // loopback only: the rendezvous store and gloo's sockets listen on 127.0.0.1
        "--rdzv-backend",
        "c10d",
        "--rdzv-endpoint",
        "127.0.0.1:0",
        "--nnodes",
        "1",
        "--nproc_per_node",
        "2",
        join(DIR, "torch_train.py"),
      ],
      { cwd: dir.path, env: { GLOO_SOCKET_IFNAME: "lo" }, signal: AbortSignal.timeout(300_000) },
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(run.stdout.trim().split("\n").sort(), ["0 2 [1.0, 1.0]", "1 2 [1.0, 1.0]"]);
    const events = eventsOf(await readJson(join(dir.path, "t.json")));
    assert.deepEqual(
      ranksOfCallers(events, "step"),
      ["[rank 0/2, local 0]", "[rank 1/2, local 1]"],
      "one step per rank, in the process named by that rank",
    );
    const names = namesByPid(events);
    assert.ok(
      [...names.values()].some((name) => name.includes("torchrun --rdzv-backend")),
      "the launcher itself is traced",
    );
  },
});

const MPIRUN = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});
if (MPIRUN === undefined) {
  noteSkipped("tracer -- mpirun", "no mpirun (apt-get install openmpi-bin)");
}

Deno.test({
  name: "tracer -- mpirun -np 2 python job.py: both MPI ranks traced, each named by its rank",
  ignore: MPIRUN === undefined || VENV_PYTHON === undefined,
  async fn() {
    await using dir = await tempDir();
    const run = await runCli(
      [
        "-q",
        "-o",
        "t.json",
        "--",
        MPIRUN!,
        "--allow-run-as-root",
        "--oversubscribe",
        "-np",
        "2",
        VENV_PYTHON!,
        join(DIR, "mpi_job.py"),
      ],
      { cwd: dir.path, signal: AbortSignal.timeout(300_000) },
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(run.stdout.trim().split("\n").sort(), ["0 2 10", "1 2 10"]);
    assert.deepEqual(
      ranksOfCallers(eventsOf(await readJson(join(dir.path, "t.json"))), "work"),
      ["[rank 0/2]", "[rank 1/2]"],
      "one work() per rank, in the process named by that rank",
    );
  },
});

Deno.test({
  name:
    "Dask: a LocalCluster's worker processes (spawned by Nannies) run the tasks, traced and named",
  ignore: VENV_PYTHON === undefined,
  async fn() {
    await using dir = await tempDir();
    // Dask's own code and the standard library left out (the output stays small); the tasks, whose
    // code Dask rebuilds in each worker (`<dynamic-code>`), are under neither.
    const paths = await runCommand([
      VENV_PYTHON!,
      "-c",
      "import sysconfig; p = sysconfig.get_paths(); print(p['purelib']); print(p['stdlib'])",
    ]);
    const excluded = paths.stdout.trim().split("\n").flatMap((path) => ["--exclude_files", path]);
    const run = await runCli(
      ["-q", "--python", VENV_PYTHON!, ...excluded, "-o", "t.json", join(DIR, "dask_job.py")],
      { cwd: dir.path, signal: AbortSignal.timeout(300_000) }, // a hang, not a slow machine
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.stdout, "140\n");
    const events = eventsOf(await readJson(join(dir.path, "t.json")));
    const squares = events.filter((e) => e.ph === "X" && e.name?.startsWith("square ("));
    assert.equal(squares.length, 8);
    const names = namesByPid(events);
    for (const pid of new Set(squares.map((e) => e.pid))) {
      // The title Dask gives its workers (setproctitle), the last one: "dask worker [closed]"
      assert.match(names.get(pid) ?? "", /^dask worker /);
    }
  },
});
