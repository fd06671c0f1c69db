/**
 * The JSON writer's fast path: copies each event's bytes to the output and patches only its `ts`
 * and `pid` in place, instead of parsing and re-serialising it. Events the patcher cannot handle
 * as bytes (spread over several lines, a `ts` that is not a plain number) go through
 * `JSON.parse`/`JSON.stringify` and come out the same as on the parsed path.
 * @module
 */
import { ByteBuffer } from "../bytes/byte_buffer.ts";
import type { Tally } from "./tally.ts";
import { type FilePlan, placeEvent } from "./plan.ts";
import { rawPlanText } from "./raw_source.ts";
import {
  canonicalJson,
  FileScan,
  parseNumber,
  PHASE_BYTE,
  PHASE_REWRITE,
  SeenThreads,
  SPAN_END,
  SPAN_PHASE,
  SPAN_PID,
  SPAN_PID_END,
  SPAN_START,
  SPAN_STRIDE,
  SPAN_TID,
  SPAN_TID_END,
  SPAN_TS,
  SPAN_TS_END,
} from "./event_reader.ts";
import type { TraceEvent } from "../trace_event.ts";
import { isTraceEvent } from "../trace_event.ts";

const PHASE_M = 0x4d;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
/** Integers up to here are exact in a double: ts in nanoseconds below 104 days of uptime. */
const MAX_EXACT = 2 ** 53;

/**
 * The events of every planned file as JSON text: one event per line, separated by `,\n`.
 * A chunk is only valid until the next one is requested (its buffer is reused).
 */
export async function* rawEventChunks(
  plans: FilePlan[],
  tally: Tally,
): AsyncGenerator<Uint8Array> {
  const stats = tally.stats;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const out = new ByteBuffer(1 << 20);
  const state = { first: true };
  const separator = () => {
    if (state.first) state.first = false;
    else out.ascii(",\n");
  };
  const appendParsed = (event: TraceEvent, plan: FilePlan) => {
    placeEvent(event, plan);
    separator();
    const text = encoder.encode(JSON.stringify(event));
    out.copy(text, 0, text.length);
    stats.events++;
  };
  for (const plan of plans) {
    for (const label of plan.labels) appendParsed(structuredClone(label), plan);
    if (plan.raw !== undefined) {
      const text = rawPlanText(plan, out, state);
      let step = await text.next();
      for (; !step.done; step = await text.next()) {
        if (out.length >= 1 << 16) yield out.take();
      }
      stats.events += step.value;
      continue;
    }
    const shifting = plan.shift !== 0;
    const remapping = plan.pidMap.size > 0;
    let events = 0;
    let skipped = 0;
    const seenThreads = new SeenThreads();
    const countThread = (bytes: Uint8Array, k: number, spans: number[]) => {
      const pidStart = spans[k + SPAN_PID];
      const tidEnd = spans[k + SPAN_TID_END];
      if (pidStart < 0 || spans[k + SPAN_TID] < 0) return;
      if (!seenThreads.isNew(bytes, spans, k)) return;
      const pid = canonicalJson(bytes, pidStart, spans[k + SPAN_PID_END]);
      const mapped = plan.pidMap.get(pid);
      tally.thread(
        mapped === undefined ? pid : String(mapped),
        canonicalJson(bytes, spans[k + SPAN_TID], tidEnd),
      );
    };
    const sink = (bytes: Uint8Array, spans: number[]) => {
      // The bytes after the last patch are copied late, so that a run of events separated by
      // ",\n" in the input goes out in one copy per patch instead of two per event.
      let pending = -1;
      let pendingEnd = -1;
      const flush = () => {
        if (pending >= 0) out.copy(bytes, pending, pendingEnd);
        pending = -1;
      };
      const count = spans.length / SPAN_STRIDE;
      out.reserve(spans[spans.length - SPAN_STRIDE + SPAN_END] - spans[SPAN_START] + count * 16);
      for (let k = 0; k < spans.length; k += SPAN_STRIDE) {
        const phase = spans[k + SPAN_PHASE];
        if (phase === 0) {
          skipped++;
          continue;
        }
        events++;
        if (!plan.scanned) countThread(bytes, k, spans);
        const start = spans[k + SPAN_START];
        const end = spans[k + SPAN_END];
        let tsNs: number | undefined;
        let pidText: string | undefined;
        let simple = phase < PHASE_REWRITE;
        const tsStart = spans[k + SPAN_TS];
        const pidStart = spans[k + SPAN_PID];
        if (simple && shifting && (phase & PHASE_BYTE) !== PHASE_M && tsStart >= 0) {
          const ts = parseNumber(bytes, tsStart, spans[k + SPAN_TS_END]);
          const ns = Math.round((ts + plan.shift) * 1000);
          if (Math.abs(ns) < MAX_EXACT) tsNs = ns;
          else simple = false;
        }
        if (simple && remapping && pidStart >= 0) {
          const mapped = plan.pidMap.get(canonicalJson(bytes, pidStart, spans[k + SPAN_PID_END]));
          if (mapped !== undefined) pidText = String(mapped);
        }
        if (!simple) {
          flush();
          const event = parseEvent(decoder.decode(bytes.subarray(start, end)));
          if (event !== undefined) appendParsed(event, plan);
          else {
            events--;
            skipped++;
          }
          continue;
        }
        const joined = pending >= 0 && start === pendingEnd + 2 && bytes[pendingEnd] === COMMA &&
          bytes[pendingEnd + 1] === NEWLINE;
        if (!joined) {
          flush();
          separator();
        }
        stats.events++;
        // Patch up to two fields, in the order they appear.
        let at = joined ? pending : start;
        const pidFirst = pidText !== undefined && (tsNs === undefined || pidStart < tsStart);
        if (pidFirst) {
          out.copy(bytes, at, pidStart);
          out.ascii(pidText!);
          at = spans[k + SPAN_PID_END];
        }
        if (tsNs !== undefined) {
          out.copy(bytes, at, tsStart);
          out.thousandths(tsNs);
          at = spans[k + SPAN_TS_END];
        }
        if (pidText !== undefined && !pidFirst) {
          out.copy(bytes, at, pidStart);
          out.ascii(pidText);
          at = spans[k + SPAN_PID_END];
        }
        pending = at;
        pendingEnd = end;
      }
      flush();
    };
    const scan = new FileScan(plan.path, sink);
    for await (const _ of scan.chunks()) {
      if (out.length >= 1 << 16) yield out.take();
    }
    tally.endFile(plan, scan.finish({ events, skipped }));
  }
  if (out.length > 0) yield out.take();
}

function parseEvent(text: string): TraceEvent | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isTraceEvent(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
