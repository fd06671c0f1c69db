import assert from "node:assert/strict";
import { join } from "node:path";
import { combineFiles, type CombineSource } from "./combine.ts";
import { convertRawFiles } from "../raw/raw_files.ts";
import { probeRawFiles } from "./raw_source.ts";
import {
  eventsRecord as events,
  jsonRecord as json,
  rawFile as file,
  stackRecord as stack,
  zeroTail,
} from "../raw/testing.ts";
import { RecordKind } from "../raw/records.ts";
import type { TraceEvent, TraceWarning } from "../trace_event.ts";
import { sourceRecords } from "../trace_metadata.ts";

/** ~35 days of uptime in ns: timestamps above 1e8 us take the split digit path. */
const T0 = 3_000_000_123_456_789;
const header = (pid: number, more: Record<string, unknown> = {}) =>
  json(RecordKind.header, {
    tracer_version: 1,
    pid,
    host: "h",
    boot_id: "b",
    clock: { epoch_ns: 1732719734123456789, mono_ns: T0 },
    ...more,
  });
const end = (endNs: number) =>
  json(RecordKind.end, { exit: "exit", end_mono_ns: endNs, dropped_events: 0, deepest_stack: 1 });
const meta = (pid: number, tid: number, name: string) =>
  json(RecordKind.meta, [{ ph: "M", pid, tid, name: "thread_name", args: { name } }]);

/** One run's raw files: exec, pid reuse, killed processes, damage, odd names, no events. */
const RUN: Record<string, Uint8Array> = {
  "result_100.raw": file(
    header(100),
    // Reserved before the names its events use.
    events(101, [[T0 + 5, 2_000, 2], [T0, 10_050, 1]], { slots: 4 }),
    json(RecordKind.names, [[1, 'f "q" </script>\u2028 (/a.py:1)', "py"], [2, "time.sleep", "c"]]),
    events(102, [[T0 + 1_500_000, 999, 1], [T0 + 3, 1, 9]]),
    stack(102, [[T0 + 2_000_000, 1]], { slots: 4 }),
    meta(100, 101, "MainThread"),
    meta(100, 103, "idle thread, no calls"),
    end(T0 + 2_000_042),
  ),
  "result_100_1.raw": file(
    header(100, { exec_of: "result_100.raw" }),
    json(RecordKind.names, [[1, "main (/b.py:3)", "py"]]),
    // More events in one block than one batch holds.
    events(
      101,
      Array.from({ length: 20_000 }, (_, k): [number, number, number] => [T0 + 9e6 + k, 1, 1]),
    ),
    end(T0 + 9e6 + 20_000),
  ),
  "result_300.raw": file(
    header(300, { parent_file: "result_100.raw" }),
    json(RecordKind.names, [[1, "g (/c.py:2)", "py"]]),
    events(300, [[T0 + 400, 100, 1]]),
    end(T0 + 500),
  ),
  // pid 300 again, not an exec: a reused pid, remapped.
  "result_300_1.raw": file(
    header(300),
    json(RecordKind.names, [[1, "h (/d.py:9)", "py"]]),
    events(300, [[T0 + 800_000, 7, 1]]),
    end(T0 + 800_007),
  ),
  // Cut off inside its last record.
  "result_400.raw": file(
    header(400),
    json(RecordKind.names, [[1, "killed (/e.py:1)", "py"]]),
    events(400, [[T0 + 50, 5, 1]]),
    events(400, [[T0 + 60, 5, 1]]).subarray(0, 20),
  ),
  // Killed: the rest of its last segment is zeros; two calls still open.
  "result_450.raw": file(
    header(450),
    json(RecordKind.names, [[1, "open (/g.py:1)", "py"]]),
    events(450, [[T0 + 90, 5, 1]], { slots: 100 }),
    stack(450, [[T0 + 85, 1], [T0 + 86, 0], [T0 + 88, 1]], { slots: 16 }),
    zeroTail(1 << 16),
  ),
  "result_500.raw": file(
    header(500),
    json(RecordKind.names, [[1, "damaged (/f.py:1)", "py"]]),
    events(500, [[T0 + 70, 5, 1]]),
    events(500, [[T0 + 75, 5, 1]], { slots: 1, count: 2 }),
    events(500, [[T0 + 80, 5, 1]]),
  ),
  "result_600.raw": file(header(600), meta(600, 600, "MainThread"), end(T0)),
  "result_700.raw": file(zeroTail(1 << 16)),
};

async function combined(inputs: (string | CombineSource)[]) {
  const warnings: TraceWarning[] = [{ source: "run", message: "a run-stage warning" }];
  const text = await combineFiles(inputs, { warnings });
  let bytes = "";
  const decoder = new TextDecoder();
  for await (const chunk of text.eventText()) bytes += decoder.decode(chunk, { stream: true });
  const parsed = await combineFiles(inputs, { warnings });
  const objects: TraceEvent[] = [];
  for await (const batch of parsed.events) objects.push(...batch);
  return {
    bytes,
    objects,
    metadata: text.metadata,
    stats: text.stats,
    parsedStats: parsed.stats,
    warnings: text.warnings,
  };
}

Deno.test("raw files combined directly give exactly what combining the converted files gives", async () => {
  const rawDir = await Deno.makeTempDir({ prefix: "raw_source_test_" });
  const jsonDir = await Deno.makeTempDir({ prefix: "raw_source_test_" });
  try {
    for (const [name, bytes] of Object.entries(RUN)) {
      await Deno.writeFile(join(rawDir, name), bytes);
    }
    const lines: string[] = [];
    const options = (warnings: TraceWarning[]) => ({
      jsonDir,
      warnings,
      report: (line: string) => lines.push(line),
    });

    const directWarnings: TraceWarning[] = [];
    const inputs = await probeRawFiles(rawDir, options(directWarnings));
    // Only the file without events goes through a JSON file.
    assert.deepEqual(
      inputs.map((input) => typeof input === "string" ? input : "raw"),
      ["raw", "raw", "raw", "raw", "raw", "raw", "raw", join(jsonDir, "result_600.json")],
    );
    const direct = await combined(inputs);
    for await (const entry of Deno.readDir(jsonDir)) await Deno.remove(join(jsonDir, entry.name));

    const convertedWarnings: TraceWarning[] = [];
    const converted = await combined(await convertRawFiles(rawDir, options(convertedWarnings)));
    assert.deepEqual(lines, []);
    assert.deepEqual(directWarnings, convertedWarnings);
    assert.deepEqual(directWarnings.map((warning) => [warning.source, warning.message]), [
      [
        "process 400",
        "ended without its end record (killed?): kept 1 events (lost its last 20 bytes)",
      ],
      ["process 450", "ended without its end record (killed?): kept 3 events"],
      [
        "process 500",
        "ended without its end record (killed?): kept 1 events (lost its last 96 bytes)",
      ],
      ["process 700", "ended before writing any trace data"],
    ]);
    assert.equal(direct.bytes, converted.bytes);
    assert.deepEqual(direct.objects, converted.objects);
    assert.deepEqual(direct.metadata, converted.metadata);
    assert.deepEqual(direct.stats, converted.stats);
    assert.deepEqual(direct.parsedStats, converted.parsedStats);
    assert.deepEqual(direct.warnings, converted.warnings);

    // And that output is the expected one, not just the same on both sides.
    assert.deepEqual(direct.stats, {
      files: 8,
      processes: 7,
      threads: 9,
      events: 20_016,
      droppedEvents: 0,
      salvagedFiles: 2,
    });
    assert.ok(direct.bytes.includes(
      '\n{"ph":"M","pid":4194305,"name":"process_labels",' +
        '"args":{"labels":"pid 300 from result_300_1.json on h"}},\n',
    ));
    assert.match(direct.bytes, /\{"ph":"X","pid":100,"tid":101,"ts":0,"dur":10\.050,"name":"f/);
    assert.match(direct.bytes, /"tid":102,"ts":2000,"dur":0\.042,.*"args":\{"unfinished":true\}\}/);
    assert.match(direct.bytes, /"ts":0\.003,"dur":0\.001,"name":"\(unknown name 9\)","cat":"py"/);
    // The killed process's open calls end at its last clock (T0 + 95), the inner 1 ns earlier.
    assert.ok(direct.bytes.includes(
      '\n{"ph":"X","pid":450,"tid":450,"ts":0.085,"dur":0.010,"name":"open (/g.py:1)","cat":"py",' +
        '"args":{"unfinished":true}},\n{"ph":"X","pid":450,"tid":450,"ts":0.088,"dur":0.006,',
    ));
    assert.match(direct.bytes, /\{"ph":"X","pid":4194305,"tid":300,"ts":800,"dur":0\.007,"name"/);
    const tracerEnds = new Map(
      sourceRecords(direct.metadata).map((source) => [source.file, source.tracerEnd]),
    );
    assert.deepEqual(tracerEnds.get(join(jsonDir, "result_450.json")), {
      first_ts: 3000000123456.874,
      exit: "killed",
      events: 3,
      unfinished: 2,
      end_mono_ns: T0 + 95,
      truncated_bytes: 0,
    });
    assert.deepEqual(tracerEnds.get(join(jsonDir, "result_100.json")), {
      first_ts: 3000000123456.789,
      exit: "exit",
      end_mono_ns: T0 + 2_000_042,
      dropped_events: 0,
      deepest_stack: 1,
      events: 5,
      unfinished: 1,
    });
    const names = direct.objects.map((event) => event.name);
    assert.ok(names.includes('f "q" </script>\u2028 (/a.py:1)'));
    assert.equal(
      names.filter((name) => name === "damaged (/f.py:1)").length,
      1,
      "none after damage",
    );
  } finally {
    await Deno.remove(rawDir, { recursive: true });
    await Deno.remove(jsonDir, { recursive: true });
  }
});
