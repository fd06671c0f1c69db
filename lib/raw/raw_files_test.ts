import assert from "node:assert/strict";
import { join } from "node:path";
import { convertRawFiles } from "./raw_files.ts";
import { RecordKind } from "./records.ts";
import { eventsRecord, jsonRecord, rawFile as raw, stackRecord, zeroTail } from "./testing.ts";
import type { TraceWarning } from "../trace_event.ts";

function rawFile(otherData: Record<string, unknown>, ended: boolean): Uint8Array {
  const end = { exit: "exit", end_mono_ns: 9, dropped_events: 0, deepest_stack: 0 };
  return raw(
    jsonRecord(RecordKind.header, otherData),
    ...(ended ? [jsonRecord(RecordKind.end, end)] : [zeroTail(256)]),
  );
}

Deno.test("convertRawFiles never replaces a file and renames exec links to match", async () => {
  const raw = await Deno.makeTempDir();
  const out = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(out, "result_5.json"), "earlier run");
    await Deno.writeFile(join(raw, "result_5.raw"), rawFile({ pid: 5 }, true));
    await Deno.writeFile(
      join(raw, "result_5_1.raw"),
      rawFile({ pid: 5, exec_of: "result_5.raw" }, false),
    );
    await Deno.writeFile(join(raw, "result_6.raw"), new Uint8Array(0)); // died at once
    const warnings: TraceWarning[] = [];
    const lines: string[] = [];
    const paths = await convertRawFiles(raw, {
      jsonDir: out,
      warnings,
      report: (line) => lines.push(line),
    });
    assert.deepEqual(paths, [join(out, "result_5_1.json"), join(out, "result_5_2.json")]);
    assert.equal(await Deno.readTextFile(join(out, "result_5.json")), "earlier run");
    const successor = JSON.parse(await Deno.readTextFile(join(out, "result_5_2.json")));
    assert.equal(successor.otherData.exec_of, "result_5_1.json");
    assert.equal(successor.tracerEnd.exit, "killed");
    assert.deepEqual(lines, [
      `result_5.json already exists in ${out}: wrote result_5_1.json`,
      `result_5_1.json already exists in ${out}: wrote result_5_2.json`,
    ]);
    assert.deepEqual(warnings, [
      { source: "process 5", message: "ended without its end record (killed?): kept 0 events" },
      { source: "process 6", message: "ended before writing any trace data" },
    ]);
  } finally {
    await Deno.remove(raw, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("convertRawFiles: a cut-off, a killed and an older file get one warning each", async () => {
  const rawDir = await Deno.makeTempDir();
  const out = await Deno.makeTempDir();
  try {
    const names = jsonRecord(RecordKind.names, [[1, "f", "py"]]);
    const cut = eventsRecord(8, [[30, 1, 1]]).subarray(0, 20);
    await Deno.writeFile(
      join(rawDir, "result_8.raw"),
      raw(
        jsonRecord(RecordKind.header, { tracer_version: 1, pid: 8 }),
        names,
        eventsRecord(8, [[10, 5, 1]]),
        stackRecord(8, [[2, 1]]),
        cut,
      ),
    );
    await Deno.writeFile(
      join(rawDir, "result_9.raw"),
      raw(
        jsonRecord(RecordKind.header, { tracer_version: 1, pid: 9 }),
        names,
        eventsRecord(9, [[10, 5, 1]]),
        stackRecord(9, [[2, 1]]),
        zeroTail(1 << 20),
      ),
    );
    // Format 1: the magic line, then records with no padding.
    await Deno.writeFile(
      join(rawDir, "result_10.raw"),
      new TextEncoder().encode('TRACER-RAW 1\nH\x0a\0\0\0{"pid":10}'),
    );
    const warnings: TraceWarning[] = [];
    const paths = await convertRawFiles(rawDir, { jsonDir: out, warnings, report: () => {} });
    assert.deepEqual(paths, [join(out, "result_8.json"), join(out, "result_9.json")]);
    assert.deepEqual(warnings, [
      {
        source: "process 8",
        message: "ended without its end record (killed?): kept 2 events (lost its last 20 bytes)",
      },
      { source: "process 9", message: "ended without its end record (killed?): kept 2 events" },
      {
        source: "process 10",
        message: "skipped: its trace file was written by another tracer version (raw format 1; " +
          "this tracer reads format 2)",
      },
    ]);
    const killed = JSON.parse(await Deno.readTextFile(join(out, "result_9.json")));
    assert.deepEqual(killed.tracerEnd, {
      first_ts: 0.002,
      exit: "killed",
      events: 2,
      unfinished: 1,
      end_mono_ns: 15,
      truncated_bytes: 0,
    });
  } finally {
    await Deno.remove(rawDir, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});
