import { deepEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { join } from "node:path";
import { TracerError } from "../errors.ts";
import type { CombinedTrace, TraceEvent } from "../trace_event.ts";
import { decodeModel, inflateBase64 } from "../viewer/model.ts";
import { inlineScript, writeHtml } from "./html.ts";

const HOSTILE_NAME = "</script><script>alert(1)</script>";
const HOSTILE_PATH = "f (/tmp/<img src=x onerror=alert(1)>.py:1)";

function traceOf(events: TraceEvent[], warnings = [{ message: "<b>not bold</b>" }]): CombinedTrace {
  return {
    events: (async function* () {
      yield events;
    })(),
    metadata: { argv: ["<svg onload=alert(1)>"] },
    warnings,
    stats: { files: 1, processes: 1, threads: 1, events: 3, droppedEvents: 0, salvagedFiles: 0 },
  };
}

const EVENTS: TraceEvent[] = [
  { ph: "M", name: "process_name", pid: 1, args: { name: "<iframe src=//evil>" } },
  { ph: "M", name: "thread_name", pid: 1, tid: 1, args: { name: "<script>x()</script>" } },
  { ph: "X", name: HOSTILE_NAME, ts: 0, dur: 10, pid: 1, tid: 1 },
  { ph: "X", name: HOSTILE_PATH, ts: 1, dur: 2, pid: 1, tid: 1, args: { v: "</script>" } },
];

function dataChunks(html: string): string[] {
  return [
    ...html.matchAll(/<script type="application\/octet-stream" class="tracer-data">([^<]*)</g),
  ]
    .map((match) => match[1]);
}

Deno.test("hostile strings from the trace never appear raw in the HTML, and decode intact", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "report.html");
    const result = await writeHtml(traceOf(EVENTS), path);
    const html = await Deno.readTextFile(path);
    assertEquals(result, {
      bytes: new TextEncoder().encode(html).length,
      replaced: null,
      skipped: {},
    });
    for (const text of ["alert(1)", "<img", "<iframe", "<svg", "x()", "<b>not bold"]) {
      assert(!html.includes(text), `raw ${text} in the HTML`);
    }
    // One opening and closing tag per script element: data chunks plus the viewer.
    const opens = html.match(/<script/gi)!.length;
    const closes = html.match(/<\/script/gi)!.length;
    assertEquals(opens, closes);
    assertEquals(opens, dataChunks(html).length + 1);
    const model = decodeModel(await inflateBase64(dataChunks(html)));
    assert(model.strings.includes(HOSTILE_NAME));
    assert(model.strings.includes(HOSTILE_PATH));
    assertEquals(model.processes[0].info.name, "<iframe src=//evil>");
    assertEquals(model.header.warnings, [{ message: "<b>not bold</b>" }]);
    assertEquals(model.slices, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the page is self-contained: a strict CSP and no URL to load anything from", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "report.html");
    await writeHtml(traceOf(EVENTS), path);
    const html = await Deno.readTextFile(path);
    assert(/http-equiv="Content-Security-Policy"\s+content="default-src 'none';/.test(html));
    assert(!/\b(src|href)\s*=\s*["']?(https?:)?\/\//i.test(html), "external src/href");
    assert(!/@import|url\(\s*["']?https?:/i.test(html), "external CSS");
    assert(html.includes("dataset.ready="), "the viewer sets data-ready");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the CSP lets exactly the embedded viewer script run: its sha256, no 'unsafe-inline'", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "report.html");
    await writeHtml(traceOf(EVENTS), path);
    const html = await Deno.readTextFile(path);
    const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(html)![1];
    const scriptSrc = csp.split(";").map((part) => part.trim()).find((part) =>
      part.startsWith("script-src ")
    );
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1]);
    assertEquals(scripts.length, 1);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(scripts[0]));
    assertEquals(scriptSrc, `script-src 'sha256-${new Uint8Array(digest).toBase64()}'`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an existing report is replaced only when the new one is complete", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "report.html");
    await Deno.writeTextFile(path, "old");
    const result = await writeHtml(traceOf(EVENTS), path);
    assertEquals(result.replaced, "file");
    const failing: CombinedTrace = {
      ...traceOf([]),
      events: (async function* () {
        yield [EVENTS[2]];
        throw new Error("input broke");
      })(),
    };
    const before = await Deno.readTextFile(path);
    await rejects(writeHtml(failing, path), /input broke/);
    assertEquals(await Deno.readTextFile(path), before);
    assertEquals([...Deno.readDirSync(dir)].map((entry) => entry.name), ["report.html"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unwritable output path is a TracerError naming the path", async () => {
  await rejects(
    writeHtml(traceOf(EVENTS), "/nonexistent-dir/report.html"),
    (error: unknown) =>
      error instanceof TracerError && error.message.includes("/nonexistent-dir/report.html"),
  );
});

Deno.test("inline scripts cannot close their element or open a comment", () => {
  assertEquals(inlineScript('a="</script>";b="<!--"'), 'a="<\\/script>";b="<\\!--"');
  assertEquals(inlineScript("x</SCRIPT >"), "x<\\/SCRIPT >");
});

Deno.test("a failure while the report data is encoded removes the temp file and keeps the old", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "report.html");
    await Deno.writeTextFile(path, "old");
    // The header cannot be written as JSON: encoding fails once the output is open.
    const trace = traceOf(EVENTS);
    (trace.stats as unknown as Record<string, unknown>).events = 1n;
    await rejects(writeHtml(trace, path), /cannot write HTML report .*BigInt/);
    assertEquals(await Deno.readTextFile(path), "old");
    assertEquals([...Deno.readDirSync(dir)].map((entry) => entry.name), ["report.html"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("no room for the report's scratch files: one clear error, no output", async () => {
  const dir = await Deno.makeTempDir();
  const before = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", join(dir, "missing"));
  try {
    const path = join(dir, "report.html");
    await rejects(
      writeHtml(traceOf(EVENTS), path, { limits: { slices: 1, columnBytes: 1 } }),
      (error: Error) =>
        error instanceof TracerError &&
        /scratch file in the temp folder: .*; free space there or set TMPDIR/.test(error.message),
    );
    assertEquals([...Deno.readDirSync(dir)], []);
  } finally {
    if (before === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", before);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a stop that comes once every event was read still ends the report, leaving no file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "report.html");
    const stop = new AbortController();
    const events = Array.from({ length: 200_000 }, (_, i) => ({
      ph: "X",
      name: `f${i % 7}`,
      ts: i,
      dur: 0.5,
      pid: 1,
      tid: 1 + (i % 3),
    }));
    const trace: CombinedTrace = {
      ...traceOf([]),
      events: (async function* () {
        yield events;
        // The signal lands while the report is finished and written, after the last event.
        setTimeout(() => stop.abort(new Error("stopped by a signal")), 0);
      })(),
    };
    await rejects(
      writeHtml(trace, path, { stop: stop.signal, limits: { slices: 20_000 } }),
      /stopped by a signal/,
    );
    assertEquals([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
