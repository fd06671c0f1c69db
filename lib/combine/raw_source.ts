/**
 * A traced process's raw file (lib/raw/records.ts) as a combine input, with no per-process JSON
 * file in between: the first pass reads what placement needs (both ends, the earliest start, the
 * threads), the second writes the events straight into the combined output. Both give exactly
 * what combining the converted JSON file gives: the same text on the JSON path, the same objects
 * on the parsed path. (Each pass reads the file twice itself: see lib/raw/records.ts.)
 * @module
 */
import { MAX_EXACT } from "../bytes/ascii_number.ts";
import { TracerError } from "../errors.ts";
import { headerWithJsonNames, tracerEndText } from "../raw/convert.ts";
import type { NameTable } from "../raw/names.ts";
import {
  openRawTrace,
  pidOf,
  type RawPass,
  type RawSummary,
  type RecordVisitor,
  visitRecords,
} from "../raw/records.ts";
import { appendXEvent, xEventPrefix } from "../raw/x_event.ts";
import type { EventText } from "./_event_text.ts";
import { type FilePlan, type FileProbe, placeEvent } from "./_plan.ts";
import { type CombineSource, probeFromEnds } from "./source.ts";
import type { Tally } from "./_tally.ts";
import { type Id, idOfValue, ThreadSet } from "./_ids.ts";
import type { TraceEvent } from "../trace_event.ts";
import { jsonText } from "../json_text.ts";
import {
  convertInput,
  type ConvertRawFilesOptions,
  keep,
  type RawInput,
  rawInputs,
  unlessDamaged,
} from "../raw/raw_files.ts";

/**
 * Reads each raw file of `rawDir` once, in pid order, for combining it directly (no JSON file in
 * between: RawFileSource). A file that cannot be placed from its ends is converted
 * into `jsonDir` and given as that JSON path. Warnings are the same as `convertRawFiles`'.
 */
export async function probeRawFiles(
  rawDir: string,
  options: ConvertRawFilesOptions,
): Promise<(string | CombineSource)[]> {
  const inputs: (string | CombineSource)[] = [];
  for (const input of await rawInputs(rawDir, options)) {
    options.stop?.throwIfAborted();
    const found = await unlessDamaged(input, () => probeRawFile(input), options.warnings);
    if (found === null) continue;
    if (found.source !== undefined) {
      keep(input, found, options.warnings);
      inputs.push(found.source);
      continue;
    }
    const result = found.written ? await convertInput(input, options) : found;
    if (result !== null && keep(input, result, options.warnings)) inputs.push(input.path);
  }
  return inputs;
}

/** What the first pass over a raw file found. */
export interface RawProbe {
  /** False when the file holds no complete header: it has no data. */
  written: boolean;
  /** True when the end record was there (the process ended through the shim). */
  ended: boolean;
  /** X events, unfinished ones included. */
  events: number;
  /** Bytes of a cut-off last record, or of a damaged record and after it. */
  truncatedBytes: number;
  /**
   * The file as a combine input; undefined when it cannot be placed from its ends (no events, an
   * odd header): convert it to JSON and combine that instead.
   */
  source?: CombineSource;
}

/** Events handed over at once on the second pass: a record may hold many more. */
const BATCH_EVENTS = 8192;

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
  const found = new ProbeVisitor(idOfValue(pid));
  for await (const _ of visitRecords(pass, found)) { /* the visitor does the work */ }
  const summary = found.summary!;
  const counts = {
    written: true,
    ended: summary.endText !== undefined,
    events: summary.events,
    truncatedBytes: summary.leftover,
  };
  const tracerEnd = tracerEndText(summary);
  const ends = { otherData: JSON.parse(otherDataText), tracerEnd: JSON.parse(tracerEnd) };
  const probe = probeFromEnds(input.path, ends, found.threads);
  if (probe === undefined) return counts;
  return { ...counts, source: new RawFileSource(input.rawPath, pid, probe) };
}

/** What the first pass collects: the threads, and the summary (counts, earliest start, end). */
class ProbeVisitor implements RecordVisitor {
  readonly threads = new ThreadSet();
  summary: RawSummary | undefined;

  constructor(private readonly pid: Id) {}

  onEvents(numbers: Float64Array, from: number, to: number): void {
    if (to > from) this.threads.add(this.pid, idOfValue(numbers[0]));
  }

  onMeta(events: TraceEvent[]): void {
    for (const event of events) {
      if (event.pid !== undefined && event.tid !== undefined) {
        this.threads.add(idOfValue(event.pid), idOfValue(event.tid));
      }
    }
  }

  onEnd(summary: RawSummary): void {
    this.summary = summary;
  }
}

/** A raw file placed by its first pass. */
class RawFileSource implements CombineSource {
  readonly path: string;

  constructor(
    private readonly rawPath: string,
    private readonly pid: number,
    private readonly probed: FileProbe,
  ) {
    this.path = probed.path;
  }

  probe(): Promise<FileProbe> {
    return Promise.resolve(this.probed);
  }

  async *events(plan: FilePlan, tally: Tally): AsyncGenerator<TraceEvent[]> {
    using pass = await openRawTrace(this.rawPath);
    const objects = new EventObjects(plan, this.pid, pass.names);
    for await (const _ of visitRecords(pass, objects, BATCH_EVENTS)) {
      if (objects.batch.length === 0) continue;
      tally.stats.events += objects.batch.length;
      yield objects.batch;
      objects.batch = [];
    }
    // What the reading gave after its last step: the spans still open at the end, closed there,
    // and the event cap's markers (once lost from every report).
    if (objects.batch.length > 0) {
      tally.stats.events += objects.batch.length;
      yield objects.batch;
    }
  }

  async *text(plan: FilePlan, text: EventText, tally: Tally): AsyncGenerator<void> {
    using pass = await openRawTrace(this.rawPath);
    const lines = new EventLines(plan, this.pid, text, tally, pass.names);
    yield* visitRecords(pass, lines, BATCH_EVENTS);
  }
}

/** The parsed path: the events of each record as objects, placed. */
class EventObjects implements RecordVisitor {
  batch: TraceEvent[] = [];

  constructor(
    private readonly plan: FilePlan,
    private readonly pid: number,
    private readonly names: NameTable,
  ) {}

  onEvents(numbers: Float64Array, from: number, to: number, unfinished: boolean): void {
    for (let i = from; i < to; i += 3) {
      this.batch.push(eventObject(this.plan, this.pid, numbers, i, this.names, unfinished));
    }
  }

  onMeta(events: TraceEvent[]): void {
    for (const event of events) {
      placeEvent(event, this.plan);
      this.batch.push(event);
    }
  }

  onEnd(): void {}
}

/** One X event as the parsed path gives it for the converted file. */
function eventObject(
  plan: FilePlan,
  pid: number,
  numbers: Float64Array,
  i: number,
  names: NameTable,
  unfinished: boolean,
): TraceEvent {
  const { name, cat } = names.values(numbers[i + 2]);
  const event: TraceEvent = {
    ph: "X",
    pid,
    tid: numbers[0],
    ts: numbers[i] / 1000,
    dur: numbers[i + 1] / 1000,
    name,
    cat,
  };
  if (unfinished) event.args = { unfinished: true };
  placeEvent(event, plan);
  return event;
}

/** The JSON text path: each event's text, formatted as the converter does and then placed. */
class EventLines implements RecordVisitor {
  readonly #pidText: string;

  constructor(
    private readonly plan: FilePlan,
    private readonly pid: number,
    private readonly text: EventText,
    private readonly tally: Tally,
    private readonly names: NameTable,
  ) {
    this.#pidText = String(plan.pidMap.get(idOfValue(pid)) ?? pid);
  }

  onEvents(numbers: Float64Array, from: number, to: number, unfinished: boolean): void {
    const prefix = xEventPrefix(this.#pidText, numbers[0]);
    const { plan, text, names } = this;
    const shift = plan.shift;
    for (let i = from; i < to; i += 3) {
      const start = numbers[i];
      const id = numbers[i + 2];
      const tail = unfinished ? names.openTail(id) : names.tail(id);
      text.separate();
      if (shift === 0) {
        appendXEvent(text.out, prefix, start, numbers[i + 1], tail);
        continue;
      }
      // As the JSON path computes it from the converted text "%d.%03d".
      const whole = Math.floor(start / 1000);
      const ns = Math.round((whole + (start - whole * 1000) / 1000 + shift) * 1000);
      if (Math.abs(ns) < MAX_EXACT) {
        appendXEvent(text.out, prefix, start, numbers[i + 1], tail, ns);
      } else {
        text.out.text(jsonText(eventObject(plan, this.pid, numbers, i, names, unfinished)));
      }
    }
    this.tally.stats.events += (to - from) / 3;
  }

  onMeta(events: TraceEvent[]): void {
    for (const event of events) {
      placeEvent(event, this.plan);
      this.text.appendObject(event);
    }
    this.tally.stats.events += events.length;
  }

  onEnd(): void {}
}
