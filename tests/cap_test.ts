/**
 * --tracer_entries N (issue 24, item 9): a process past its cap keeps its first ceil(N/2) and its
 * last floor(N/2) calls, by end time, the calls between counted as dropped and marked; a
 * SIGKILLed process too, with arguments too; on 3.8 and 3.14, both cores.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import type { TraceEvent } from "../lib/trace_event.ts";
import {
  eachPythonAndCore,
  FIXTURES,
  noteSkipped,
  pythonMatrix,
  readJson,
  runCli,
  tempDir,
} from "./helpers.ts";

const PHASES = join(FIXTURES, "cap", "phases.py");
const MATRIX = pythonMatrix(["3.8", "3.14"]);
const CAP = 1000;
/** phases.py: early() runs 3,000 times, then late() 200,000 times (`run`). */
const EARLY = 3000;
const LATE = 200_000;

interface Output {
  traceEvents: TraceEvent[];
  otherData: {
    sources: { otherData: { pid: number; core: string }; tracerEnd: Record<string, unknown> }[];
  };
}

/** Runs phases.py `mode` capped at CAP, recording only the fixture's own Python code. */
async function capped(python: string, core: string, mode: string, ...more: string[]) {
  await using dir = await tempDir();
  const out = join(dir.path, "out.json");
  const run = await runCli([
    ...[
      "--python",
      python,
      "--core",
      core,
      "--include_files",
      dirname(PHASES),
      "--ignore_c_function",
    ],
    ...["--tracer_entries", String(CAP), ...more, "-o", out, PHASES, mode],
  ]);
  assert.equal(run.code, 0, run.stderr);
  const trace = await readJson(out) as Output;
  const recorded = trace.otherData.sources[0].otherData.core;
  if (recorded !== core) {
    noteSkipped(`--tracer_entries with --core ${core}`, `recorded ${recorded}`);
  }
  return { run, trace, recorded };
}

/** The complete calls of `pid` named `name`. */
function calls(trace: Output, pid: number, name: string): TraceEvent[] {
  return trace.traceEvents.filter((e) =>
    e.ph === "X" && e.pid === pid && String(e.name).startsWith(`${name} (`)
  );
}

const endOf = (e: TraceEvent) => Number(e.ts) + Number(e.dur);

/**
 * The process kept exactly CAP calls: the first half are early() calls (the first to end), the
 * gap marker sits at the end of the last of them and counts what was left out, which is what
 * tracerEnd counts as dropped; every kept late() call ends after it. Returns the late() calls.
 */
function assertBothEnds(trace: Output, pid: number): TraceEvent[] {
  const end = trace.otherData.sources.find((s) => s.otherData.pid === pid)!.tracerEnd;
  const all = trace.traceEvents.filter((e) => e.ph === "X" && e.pid === pid);
  assert.equal(all.length, CAP);
  assert.equal(end.events, CAP);
  const early = calls(trace, pid, "early");
  const late = calls(trace, pid, "late");
  assert.equal(early.length, CAP / 2, "the first half: the first early() calls");
  const lastEarly = Math.max(...early.map(endOf));
  assert.ok(late.length >= CAP / 2 - 3, `late() calls kept: ${late.length}`);
  assert.ok(late.every((e) => endOf(e) > lastEarly));
  const markers = trace.traceEvents.filter((e) => e.ph === "i" && e.pid === pid);
  assert.equal(markers.length, 1, JSON.stringify(markers));
  const [marker] = markers;
  const dropped = end.dropped_events as number;
  assert.equal((marker.args as { left_out: number }).left_out, dropped);
  assert.equal(marker.name, `${dropped.toLocaleString("en-US")} calls left out (event cap)`);
  assert.ok(Math.abs(Number(marker.ts) - lastEarly) < 0.002, `${marker.ts} ${lastEarly}`);
  return late;
}

Deno.test("--tracer_entries 1000: the first 500 and the last 500 calls, the gap marked", async () => {
  await eachPythonAndCore(MATRIX, async (python, core) => {
    const { run, trace } = await capped(python, core, "run");
    const pid = trace.otherData.sources[0].otherData.pid;
    const late = assertBothEnds(trace, pid);
    // <module> and main() end last: the last 498 late() calls are kept with them.
    assert.equal(late.length, CAP / 2 - 2);
    const made = 2 + EARLY + LATE;
    assert.equal(trace.otherData.sources[0].tracerEnd.dropped_events, made - CAP);
    const main = calls(trace, pid, "main");
    assert.equal(main.length, 1);
    assert.ok(endOf(main[0]) - Math.max(...late.map(endOf)) < 1000, "the very last calls");
    assert.match(run.stderr, new RegExp(`\\(${(made - CAP).toLocaleString("en-US")} dropped\\)`));
    assert.match(
      run.stderr,
      /[\d,]+ events dropped past the cap of 1,000 per process \(the first 500 and the last 500 calls are kept\)/,
    );
  });
});

Deno.test("--tracer_entries 1000: a SIGKILLed process keeps both ends too", async () => {
  await eachPythonAndCore(MATRIX, async (python, core) => {
    const { trace } = await capped(python, core, "kill");
    const killed = trace.otherData.sources.find((s) => s.tracerEnd.exit === "killed");
    assert.ok(killed !== undefined, "the child was killed");
    const late = assertBothEnds(trace, killed.otherData.pid);
    assert.ok((killed.tracerEnd.dropped_events as number) > 20_000 - CAP);
    // Its open calls (<module>, main(), maybe a late()) end at its last moment, with the last
    // late() calls.
    const unfinished = trace.traceEvents.filter((e) =>
      e.pid === killed.otherData.pid && (e.args as { unfinished?: boolean })?.unfinished
    );
    assert.ok(unfinished.length >= 2, `${unfinished.length} unfinished`);
    assert.equal(late.length, CAP / 2 - 2, "the other half: <module>, main() and late() calls");
  });
});

Deno.test("--tracer_entries 1000 --log_func_args: calls with arguments are kept at both ends", async () => {
  await eachPythonAndCore(MATRIX, async (python, core) => {
    const { trace } = await capped(python, core, "run", "--log_func_args");
    const pid = trace.otherData.sources[0].otherData.pid;
    const late = assertBothEnds(trace, pid);
    // Each call's argument i says which call it was: the first early() ones, the last late() ones.
    const indexes = (events: TraceEvent[]) =>
      events.map((e) => Number((e.args as { func_args: { i: string } }).func_args.i))
        .sort((a, b) => a - b);
    const first = Array.from({ length: CAP / 2 }, (_, k) => k);
    assert.deepEqual(indexes(calls(trace, pid, "early")), first);
    assert.deepEqual(indexes(late), first.slice(2).map((k) => LATE - CAP / 2 + k));
  });
});
