import assert from "node:assert/strict";
import { join } from "node:path";
import { convertRawFiles } from "./raw_files.ts";
import { RAW_MAGIC, RecordKind } from "./records.ts";
import type { TraceWarning } from "../trace_event.ts";

function rawFile(otherData: Record<string, unknown>, ended: boolean): Uint8Array {
  const parts = [`H${JSON.stringify(otherData)}`];
  if (ended) parts.push('T{"exit":"exit","events":0,"dropped_events":0,"unfinished":0}');
  const encoder = new TextEncoder();
  const records = parts.map((part) => {
    const payload = encoder.encode(part.slice(1));
    const out = new Uint8Array(5 + payload.length);
    out[0] = part.charCodeAt(0);
    new DataView(out.buffer).setUint32(1, payload.length, true);
    out.set(payload, 5);
    return out;
  });
  assert.equal(RecordKind.header, "H".charCodeAt(0));
  return new Uint8Array([...encoder.encode(RAW_MAGIC), ...records.flatMap((r) => [...r])]);
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
