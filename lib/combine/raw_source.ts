/**
 * A traced process's raw file (lib/raw/convert.ts) as a combine input, with no per-process JSON file
 * in between: the first pass reads what placement needs (both ends, the earliest start, the
 * threads), the second writes the events straight into the combined output. Both give exactly
 * what combining the converted JSON file gives: the same text on the JSON path, the same objects
 * on the parsed path.
 * @module
 */
import { TracerError } from "../errors.ts";
import type { ByteBuffer } from "../bytes/byte_buffer.ts";
import { type FilePlan, type FileProbe, placeEvent } from "./plan.ts";
import {
  eventNumbers,
  headerWithJsonNames,
  NameTable,
  openRawTrace,
  pidOf,
  type RawPass,
  RecordKind,
  tracerEndText,
  writeMicroseconds,
} from "../raw/convert.ts";
import type { TraceEvent } from "../trace_event.ts";

/** A raw file and the JSON file it stands for (its name in metadata, labels and `exec_of` links). */
export interface RawInput {
  rawPath: string;
  /** The path the converted JSON file would have. */
  path: string;
  /** The JSON file name for a raw file name (rewrites `exec_of` and `parent_file`). */
  jsonName: (rawName: string) => string;
}

/** What the first pass over a raw file found. */
export interface RawProbe {
  /** False when the file holds no complete header: it has no data. */
  written: boolean;
  /** True when the end record was there (the process ended through the shim). */
  ended: boolean;
  /** X events, unfinished ones included. */
  events: number;
  /** Bytes after the last complete record. */
  truncatedBytes: number;
  /**
   * The file as a combine input; undefined when it cannot be placed from its ends (no events, an
   * odd header): convert it to JSON and combine that instead.
   */
  probe?: FileProbe;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
/** Integers up to here are exact in a double. */
const MAX_EXACT = 2 ** 53;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const DUR = encoder.encode(',"dur":');

/** The first pass: reads the whole file once, keeping only its ends, earliest start and threads. */
export async function probeRawFile(input: RawInput): Promise<RawProbe> {
  using pass = await openRawTrace(input.rawPath);
  if (pass.header === undefined) {
    return { written: false, ended: false, events: 0, truncatedBytes: pass.leftover };
  }
  try {
    return await readProbe(pass, pass.header, input);
  } catch (error) {
    if (error instanceof TracerError) throw error;
    throw new TracerError(`cannot convert ${input.rawPath}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function readProbe(pass: RawPass, header: string, input: RawInput): Promise<RawProbe> {
  const otherDataText = headerWithJsonNames(header, input.jsonName);
  const pid = pidOf(otherDataText);
  const pidText = JSON.stringify(pid);
  const threads = new Set<string>();
  const names = new NameTable();
  let events = 0;
  let minNs = Infinity;
  let endText: string | undefined;
  for await (const rec of pass.records()) {
    if (rec.kind === RecordKind.events) {
      const numbers = eventNumbers(rec.payload);
      if (numbers.length > 1) threads.add(`${pidText} ${JSON.stringify(numbers[0])}`);
      for (let i = 1; i < numbers.length; i += 3) if (numbers[i] < minNs) minNs = numbers[i];
      events += (numbers.length - 1) / 3;
    } else if (rec.kind === RecordKind.names) {
      names.add(JSON.parse(decoder.decode(rec.payload)));
    } else if (rec.kind === RecordKind.meta) {
      for (const event of metaEvents(rec.payload)) {
        if (event.pid !== undefined && event.tid !== undefined) {
          threads.add(`${JSON.stringify(event.pid)} ${JSON.stringify(event.tid)}`);
        }
      }
    } else if (rec.kind === RecordKind.end) {
      endText = decoder.decode(rec.payload);
    }
  }
  const truncatedBytes = pass.leftover;
  const found = { written: true, ended: endText !== undefined, events, truncatedBytes };
  const otherData = JSON.parse(otherDataText) as Record<string, unknown>;
  const tracerEnd = JSON.parse(tracerEndText(endText, { events, truncatedBytes, minNs })) as Record<
    string,
    unknown
  >;
  // The same rule as placing a converted file by its ends (lib/combine/combine.ts).
  const firstTs = tracerEnd.first_ts;
  if (
    typeof otherData.tracer_version !== "number" || typeof otherData.pid !== "number" ||
    typeof firstTs !== "number" || !Number.isFinite(firstTs) ||
    typeof tracerEnd.events !== "number" || tracerEnd.events <= 0
  ) {
    return found;
  }
  return {
    ...found,
    probe: {
      path: input.path,
      info: {
        form: "object",
        metadata: { otherData, tracerEnd },
        events: tracerEnd.events,
        skipped: 0,
        bytes: 0,
        lostBytes: 0,
        truncated: false,
      },
      minTs: firstTs,
      pids: new Set([pidText]),
      threads,
      scanned: true,
      raw: { rawPath: input.rawPath, pid },
    },
  };
}

function metaEvents(payload: Uint8Array): TraceEvent[] {
  const events: unknown = JSON.parse(decoder.decode(payload));
  if (!Array.isArray(events)) throw new Error("a metadata record is not a JSON array");
  return events;
}

/** Where a raw plan's events go: the text path's buffer, or the parsed path's batch. */
interface RawSink {
  /** Called with the events `numbers[from, to)` of a record and the names known at that point. */
  events(numbers: Float64Array, names: NameTable, from: number, to: number): void;
  /** Called with each metadata event, already placed. */
  meta(event: TraceEvent): void;
}

/** Events handed over at once: a record may hold many more. */
const BATCH_EVENTS = 8192;

/**
 * The second pass: hands the events to `sink` in batches of at most `BATCH_EVENTS`, yielding after
 * each batch and each metadata record.
 */
async function* readEvents(plan: FilePlan, sink: RawSink): AsyncGenerator<void> {
  using pass = await openRawTrace(plan.raw!.rawPath);
  const names = new NameTable();
  for await (const rec of pass.records()) {
    if (rec.kind === RecordKind.events) {
      const numbers = eventNumbers(rec.payload);
      for (let from = 1; from < numbers.length; from += 3 * BATCH_EVENTS) {
        sink.events(numbers, names, from, Math.min(numbers.length, from + 3 * BATCH_EVENTS));
        yield;
      }
      continue;
    } else if (rec.kind === RecordKind.names) {
      names.add(JSON.parse(decoder.decode(rec.payload)));
    } else if (rec.kind === RecordKind.meta) {
      for (const event of metaEvents(rec.payload)) {
        placeEvent(event, plan);
        sink.meta(event);
      }
    } else {
      continue;
    }
    yield;
  }
}

/** One X event as the parsed path gives it for the converted file. */
function eventObject(
  plan: FilePlan,
  numbers: Float64Array,
  i: number,
  names: NameTable,
): TraceEvent {
  const id = numbers[i + 2];
  const { name, cat } = names.values(id);
  const event: TraceEvent = {
    ph: "X",
    pid: plan.raw!.pid,
    tid: numbers[0],
    ts: numbers[i] / 1000,
    dur: numbers[i + 1] / 1000,
    name,
    cat,
  };
  if (id < 0) event.args = { unfinished: true };
  placeEvent(event, plan);
  return event;
}

/** The parsed path: the plan's events as objects, in batches. */
export async function* rawPlanEvents(plan: FilePlan): AsyncGenerator<TraceEvent[]> {
  let batch: TraceEvent[] = [];
  const sink: RawSink = {
    events(numbers, names, from, to) {
      for (let i = from; i < to; i += 3) batch.push(eventObject(plan, numbers, i, names));
    },
    meta(event) {
      batch.push(event);
    },
  };
  for await (const _ of readEvents(plan, sink)) {
    if (batch.length === 0) continue;
    yield batch;
    batch = [];
  }
}

/**
 * The JSON text path: writes the plan's events into `out`, each preceded by `,\n` unless
 * `separator.first`; yields after each batch. Returns the number of events written.
 */
export async function* rawPlanText(
  plan: FilePlan,
  out: ByteBuffer,
  separator: { first: boolean },
): AsyncGenerator<void, number> {
  const pid = plan.raw!.pid;
  const mapped = plan.pidMap.get(JSON.stringify(pid));
  const pidText = String(mapped ?? pid);
  const shift = plan.shift;
  let count = 0;
  const begin = () => {
    if (separator.first) separator.first = false;
    else {
      out.reserve(2);
      out.bytes[out.length++] = COMMA;
      out.bytes[out.length++] = NEWLINE;
    }
    count++;
  };
  const sink: RawSink = {
    events(numbers, names, from, to) {
      const prefix = encoder.encode(`{"ph":"X","pid":${pidText},"tid":${numbers[0]},"ts":`);
      for (let i = from; i < to; i += 3) {
        const start = numbers[i];
        const tail = names.tail(numbers[i + 2]);
        let ns = 0;
        if (shift !== 0) {
          // As the JSON path computes it from the converted text "%d.%03d".
          const whole = Math.floor(start / 1000);
          ns = Math.round((whole + (start - whole * 1000) / 1000 + shift) * 1000);
          if (Math.abs(ns) >= MAX_EXACT) {
            begin();
            const text = encoder.encode(JSON.stringify(eventObject(plan, numbers, i, names)));
            out.copy(text, 0, text.length);
            continue;
          }
        }
        begin();
        out.reserve(prefix.length + tail.length + 64);
        out.bytes.set(prefix, out.length);
        out.length += prefix.length;
        if (shift !== 0) out.thousandths(ns);
        else out.length = writeMicroseconds(out.bytes, out.length, start);
        const bytes = out.bytes;
        bytes.set(DUR, out.length);
        let at = writeMicroseconds(bytes, out.length + DUR.length, numbers[i + 1]);
        bytes[at++] = COMMA;
        bytes.set(tail, at);
        out.length = at + tail.length;
      }
    },
    meta(event) {
      begin();
      const text = encoder.encode(JSON.stringify(event));
      out.copy(text, 0, text.length);
    },
  };
  yield* readEvents(plan, sink);
  return count;
}
