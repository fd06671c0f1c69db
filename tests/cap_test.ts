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
  reportModel,
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
 * gap marker spans from the end of the last of them to the calls left out and counts what
 * was left out, which is what tracerEnd counts as dropped; every kept late() call ends after it.
 * Returns the late() calls.
 */
function assertBothEnds(trace: Output, pid: number): TraceEvent[] {
  const end = trace.otherData.sources.find((s) => s.otherData.pid === pid)!.tracerEnd;
  const all = trace.traceEvents.filter((e) => e.ph === "X" && e.pid === pid && e.cat !== "tracer");
  assert.equal(all.length, CAP);
  assert.equal(end.events, CAP);
  const early = calls(trace, pid, "early");
  const late = calls(trace, pid, "late");
  assert.equal(early.length, CAP / 2, "the first half: the first early() calls");
  const lastEarly = Math.max(...early.map(endOf));
  assert.ok(late.length >= CAP / 2 - 3, `late() calls kept: ${late.length}`);
  assert.ok(late.every((e) => endOf(e) > lastEarly));
  // The gap: slices on the (only) thread, from the last early() call kept to the last late()
  // call left out, inside main(), so main() does not count the calls left out as its own time.
  const markers = trace.traceEvents.filter((e) => e.cat === "tracer" && e.pid === pid);
  assert.ok(markers.length >= 1, JSON.stringify(markers));
  const dropped = end.dropped_events as number;
  const [main] = calls(trace, pid, "main");
  const firstLate = Math.min(...late.map((e) => Number(e.ts)));
  for (const marker of markers) {
    assert.equal(marker.ph, "X");
    assert.equal((marker.args as { left_out: number }).left_out, dropped);
    assert.equal(marker.name, `${dropped.toLocaleString("en-US")} calls left out (event cap)`);
    assert.ok(Number(main.ts) <= Number(marker.ts) && endOf(marker) <= endOf(main));
    assert.ok(endOf(marker) < firstLate, `${endOf(marker)} ${firstLate}`);
  }
  assert.ok(Math.abs(Number(markers[0].ts) - lastEarly) < 0.002, `${markers[0].ts} ${lastEarly}`);
  // The 200,000 late() calls left out took most of main()'s time: the gap holds it.
  const gap = markers.reduce((sum, marker) => sum + Number(marker.dur), 0);
  assert.ok(gap > (firstLate - lastEarly) * 0.9, `${gap} of ${firstLate - lastEarly}`);
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

Deno.test("--tracer_entries 1000 -o x.html: the report shows the gap, and main() does not own its time", async () => {
  const [python] = [...MATRIX.values()];
  await using dir = await tempDir();
  const out = join(dir.path, "out.html");
  const run = await runCli([
    ...["--python", python, "--include_files", dirname(PHASES), "--ignore_c_function"],
    ...["--tracer_entries", String(CAP), "-o", out, PHASES, "run"],
  ]);
  assert.equal(run.code, 0, run.stderr);
  const model = await reportModel(out);
  const track = model.tracks[0];
  const named = (prefix: string) =>
    [...track.name.keys()].filter((i) => model.strings[track.name[i]].startsWith(prefix));
  // The markers came last from the raw file, after its last batch: the report once lost them.
  const gaps = named(`${(LATE - (CAP / 2 - 2) + EARLY - CAP / 2).toLocaleString("en-US")} calls`);
  assert.ok(gaps.length >= 1, JSON.stringify(model.strings.filter((s) => s.includes("left"))));
  const [main] = named("main (");
  const gapTime = gaps.reduce((sum, i) => sum + track.dur[i], 0);
  // main() held 200,000 late() calls, nearly all left out: their time is the gap's, not main's.
  assert.ok(track.self[main] < gapTime / 4, `main self ${track.self[main]}, gap ${gapTime}`);
});
