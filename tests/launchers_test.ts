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
  pythonMatrix,
  readJson,
  runCli,
  tempDir,
} from "./helpers.ts";
import type { TraceEvent } from "../lib/trace_event.ts";

const DIR = join(FIXTURES, "launchers");
const PYTHON3 = pythonMatrix(["3.11"]).values().next().value ?? "python3";

/** The process names of a combined trace, sorted. */
function processNames(events: TraceEvent[]): string[] {
  return events.filter((e) => e.ph === "M" && e.name === "process_name")
    .map((e) => String(e.args?.name)).sort();
}

/** The name of the process that called `fn`. */
function nameOfCaller(events: TraceEvent[], fn: string): string | undefined {
  const call = events.find((e) => e.ph === "X" && e.name?.startsWith(`${fn} (`));
  return events.find((e) => e.ph === "M" && e.name === "process_name" && e.pid === call?.pid)
    ?.args?.name as string | undefined;
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
