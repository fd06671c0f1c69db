import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { writeJson } from "./_json.ts";
import { singleFileStats } from "./testing.ts";
import type { CombinedTrace, TraceEvent } from "../trace_event.ts";

function traceOf(events: TraceEvent[], metadata: Record<string, unknown>): CombinedTrace {
  return {
    events: (async function* () {
      yield events;
    })(),
    metadata,
    warnings: [],
    stats: singleFileStats(events.length),
  };
}

const EVENTS: TraceEvent[] = Array.from({ length: 30_000 }, (_, i) => ({
  ph: "X",
  pid: 1,
  tid: 1,
  ts: i,
  dur: 0.5,
  name: i % 2 ? "</script><script>alert(1)</script>" : `f${i} "quoted"\n`,
}));

Deno.test("writeJson: one event per line, otherData last, replaces an earlier file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "out.json");
    const first = await writeJson(traceOf(EVENTS.slice(0, 2), { a: 1 }), path);
    assertEquals(first.replaced, null);
    const text = await Deno.readTextFile(path);
    assertEquals(first.bytes, new TextEncoder().encode(text).length);
    assertEquals(text.split("\n"), [
      '{"traceEvents":[',
      JSON.stringify(EVENTS[0]) + ",",
      JSON.stringify(EVENTS[1]),
      '],"otherData":{"a":1}}',
      "",
    ]);
    const second = await writeJson(traceOf(EVENTS, { b: [2] }), path);
    assertEquals(second.replaced, "file");
    assertEquals(JSON.parse(await Deno.readTextFile(path)), {
      traceEvents: EVENTS,
      otherData: { b: [2] },
    });
    assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name), [
      "out.json",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeJson: a .gz path is gzipped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "out.json.gz");
    const written = await writeJson(traceOf(EVENTS, {}), path);
    const bytes = await Deno.readFile(path);
    assertEquals(written.bytes, bytes.length);
    const parsed = JSON.parse(new TextDecoder().decode(gunzipSync(bytes)));
    assertEquals(parsed.traceEvents.length, EVENTS.length);
    assertEquals(parsed.traceEvents[1], EVENTS[1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
