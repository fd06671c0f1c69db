import assert from "node:assert/strict";
import { formatBytes, grouped, replacedLine, summaryLine, warningLine } from "./_summary.ts";

Deno.test("counts are grouped by thousands", () => {
  assert.equal(grouped(0), "0");
  assert.equal(grouped(999), "999");
  assert.equal(grouped(1000), "1,000");
  assert.equal(grouped(1234567), "1,234,567");
});

Deno.test("the summary line names counts, drops, path and size", () => {
  const stats = {
    files: 3,
    processes: 3,
    threads: 1,
    events: 12345,
    droppedEvents: 1000,
    salvagedFiles: 0,
  };
  assert.equal(
    summaryLine(stats, { path: "out.json", bytes: 1536, replaced: "file" }),
    "tracer: 3 processes, 1 thread, 12,345 events (1,000 dropped) -> out.json (1.5 KiB, replaced the previous file)",
  );
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(3 * 1024 * 1024), "3.0 MiB");
  assert.equal(warningLine({ source: "a.json", message: "cut" }), "tracer: warning: a.json: cut");
});

Deno.test("with --quiet, a replaced output is still said", () => {
  assert.equal(replacedLine({ path: "out.json", bytes: 1, replaced: null }), null);
  assert.equal(
    replacedLine({ path: "out.json", bytes: 1, replaced: "file" }),
    "tracer: out.json replaced the previous file",
  );
});
