/**
 * Sample trace text for the JSON reader's tests: the same events in every layout tracer reads.
 * @module
 */
import type { TraceEvent } from "../trace_event.ts";

/** Events with escapes, brackets in strings, non-ASCII names and a metadata event. */
export const EVENTS: TraceEvent[] = [
  { ph: "X", pid: 1, tid: 2, ts: 10.5, dur: 1, name: 'say "hi" [x] {y}', cat: "py" },
  { ph: "X", pid: 1, tid: 2, ts: 11, dur: 2, name: "back\\slash\\", args: { a: [1, { b: "]}" }] } },
  { ph: "X", pid: 1, tid: 3, ts: 12.25, dur: 3, name: "ünïcødé ✓ 🚀 \u2028", cat: "c" },
  { ph: "M", pid: 1, tid: 2, name: "thread_name", args: { name: "MainThread" } },
];

/** `EVENTS` as tracer, pretty-printers, one-line writers and bare arrays lay them out. */
export const LAYOUTS: Record<string, string> = {
  "tracer shim (one per line)": `{"otherData":{"pid":1},"traceEvents":[\n${
    EVENTS.map((e) => JSON.stringify(e)).join(",\n")
  }\n],"tracerEnd":{"events":4}}`,
  "pretty-printed": JSON.stringify({ before: 1, traceEvents: EVENTS, after: [1, 2] }, null, 2),
  "one line": JSON.stringify({ traceEvents: EVENTS, displayTimeUnit: "ns" }),
  "bare array": JSON.stringify(EVENTS),
  "bare array, pretty, CRLF": JSON.stringify(EVENTS, null, "\t").replaceAll("\n", "\r\n"),
};
