import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FileScan, readTracerFileEnds } from "./_json_file.ts";
import { EventParser } from "./_json_values.ts";
import { EVENTS, LAYOUTS } from "./testing.ts";
import type { TraceEvent } from "../trace_event.ts";

const encoder = new TextEncoder();

Deno.test("FileScan reads gzip (every member), truncated gzip and reports a missing file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const text = LAYOUTS["tracer shim (one per line)"];
    const gz = gzipSync(encoder.encode(text));
    const read = async (path: string) => {
      const parser = new EventParser();
      const events: TraceEvent[] = [];
      const scan = new FileScan(path, (bytes, spans) => parser.parse(bytes, spans, events));
      for await (const _ of scan.chunks()) { /* events collected by the sink */ }
      return { events, info: scan.finish(parser) };
    };
    await Deno.writeFile(join(dir, "a.json.gz"), gz);
    const whole = await read(join(dir, "a.json.gz"));
    assertEquals(whole.events, EVENTS);
    assertEquals(whole.info.damage, undefined);

    await Deno.writeFile(join(dir, "cut.gz"), gz.subarray(0, gz.length - 12));
    const cut = await read(join(dir, "cut.gz"));
    assertEquals(cut.info.truncated, true);
    assertMatch(cut.info.damage ?? "", /gzip data is corrupt or truncated/);

    // Several gzip members (RFC 1952; `cat a.gz b.gz`): every one is read, as `gzip -d` does
    const bytes = encoder.encode(text);
    const half = text.indexOf("\n", text.length >> 1) + 1;
    const members = new Uint8Array([
      ...gzipSync(bytes.subarray(0, half)),
      ...gzipSync(bytes.subarray(half)),
    ]);
    await Deno.writeFile(join(dir, "members.json.gz"), members);
    const both = await read(join(dir, "members.json.gz"));
    assertEquals(both.events, EVENTS);
    assertEquals(both.info.damage, undefined);

    const missing = await read(join(dir, "nope.json"));
    assertEquals(missing.events, []);
    assertEquals(missing.info.damage, "the file does not exist");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileScan reads a .gz that ends in garbage as gzip -d does: every event, and a note", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 3,000 events: ~200 KB inflated, the last 16 KiB write of the member holds the garbage too.
    const events = Array.from(
      { length: 3000 },
      (_, i) => ({ ph: "X", pid: 1, tid: 1, ts: i, dur: 1, name: `f${i}` }),
    );
    const text = encoder.encode(JSON.stringify({ traceEvents: events }));
    const garbage = encoder.encode("garbage\n");
    const cases: Record<string, Uint8Array> = {
      "one member": new Uint8Array([...gzipSync(text), ...garbage]),
      "a small member": new Uint8Array([
        ...gzipSync(encoder.encode(LAYOUTS["one line"])),
        ...garbage,
      ]),
      "two members": new Uint8Array([
        ...gzipSync(text.subarray(0, 1000)),
        ...gzipSync(text.subarray(1000)),
        ...garbage,
      ]),
    };
    for (const [label, bytes] of Object.entries(cases)) {
      const path = join(dir, "t.json.gz");
      await Deno.writeFile(path, bytes);
      const parser = new EventParser();
      const read: TraceEvent[] = [];
      const scan = new FileScan(path, (bytes, spans) => parser.parse(bytes, spans, read));
      for await (const _ of scan.chunks()) { /* events collected by the sink */ }
      const info = scan.finish(parser);
      assertEquals(read, label === "a small member" ? EVENTS : events, label);
      assertEquals(info.damage, "trailing garbage after the gzip data ignored", label);
      assertEquals(info.truncated, false, label);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTracerFileEnds reads only complete tracer files", async () => {
  const fixtures = fileURLToPath(new URL("../../tests/fixtures/combine/", import.meta.url));
  const ends = await readTracerFileEnds(join(fixtures, "run1", "result_100.json"));
  assertEquals(ends?.otherData.pid, 100);
  assertEquals(ends?.tracerEnd.first_ts, 5000100.5);
  for (const name of ["truncated.json", "viztracer.json", "chrome_export.json", "empty.json"]) {
    assertEquals(await readTracerFileEnds(join(fixtures, name)), undefined, name);
  }
});
