/**
 * Reading the binary per-process file the Python shim writes (`result_<pid>.raw`, format 2,
 * docs/internals.md, section 2a), in whatever state its writer left it: a process still running or
 * killed leaves a file whose last segment ends in zeros.
 *
 * An events block may hold calls whose names come later in the file, so a file is read twice:
 * {@linkcode openRawTrace} reads it once for what the events need (every name, the end record,
 * each thread's last stack of open calls, where the data ends), and {@linkcode visitRecords},
 * the one loop that hands each kind of record to a {@linkcode RecordVisitor}, reads it again for
 * the events, then closes the open calls.
 * @module
 */
import { TracerError } from "../errors.ts";
import type { TraceEvent } from "../trace_event.ts";
import { NameTable } from "./names.ts";
import { FlightClock, flightSeconds, type FlightWindow } from "./flight.ts";
import { CallEnds, type CapTrim, capTrim, eventCap, type RingLoss } from "./cap.ts";

/** The first 16 bytes of every raw file: the magic line, then zeros up to the first record. */
export const RAW_MAGIC = "TRACER-RAW 2\n\0\0\0";

/** Record kinds: the first byte of each record's 8-byte head. */
export const RecordKind = {
  header: 0x48, // "H": JSON object, otherData
  names: 0x4e, // "N": JSON array of [id, name, cat]
  meta: 0x4d, // "M": JSON array of Trace Events written whole (M, flows, instants, spans, ...)
  values: 0x56, // "V": int64 LE tid, bytes used, then calls with their args (valuesEvents)
  openArgs: 0x4f, // "O": int64 LE tid, slots, then per depth a slot: the open call's arguments
  end: 0x54, // "T": JSON object, tracerEnd
  padding: 0x50, // "P": zeros, skipped
  events: 0x45, // "E": float64 LE: tid, count, then (start_ns, dur_ns, name_id) slots
  stack: 0x53, // "S": int64 LE: tid, depth, then (start_ns, name_id) slots
  dropped: 0x44, // "D": float64 LE: calls the event cap's ring recycled, their latest end (ns)
} as const;

/** The format version this reader reads, as the magic line spells it. */
const RAW_VERSION = "2";
/** The magic line of any format version. */
const MAGIC_LINE = /^TRACER-RAW (\d+)\n/;
/**
 * A record head: kind byte, 3 zero bytes (an `E` or `V` block: its recycle number), payload size
 * (u32 LE).
 */
const HEAD_BYTES = 8;
/** An `E` or `S` block's numbers before its slots: tid, then count (or depth). */
const BLOCK_HEAD_BYTES = 16;
const EVENT_SLOT_BYTES = 24;
const STACK_SLOT_BYTES = 16;
/** An `O` record's slot: u32 text bytes, u32 name id, then the text (a JSON object). */
const OPEN_ARGS_SLOT_BYTES = 512;
/** A `D` record's payload: calls recycled, their latest end (float64 LE each). */
const DROPPED_BYTES = 16;
const READ_BYTES = 1 << 20;
/** The largest record read (its size field can claim up to 4 GiB): past it, the file is damaged. */
const MAX_RECORD_BYTES = 256 << 20;
const KINDS = new Set<number>(Object.values(RecordKind));
/** Kinds whose payload starts with a tid and a count checked against the payload's size. */
const BLOCK_KINDS = new Set<number>([
  RecordKind.events,
  RecordKind.stack,
  RecordKind.values,
  RecordKind.openArgs,
]);

/** One record of a raw file; the payload is only valid until the next record is read. */
export interface RawRecord {
  kind: number;
  payload: Uint8Array;
}

/** A thread's calls still open when its file was last written: its last `S` record. */
export interface OpenStack {
  tid: number;
  /** Start of each recorded open call (ns), outermost first; unrecorded slots left out. */
  starts: number[];
  /** Name id of each, in the same order. */
  nameIds: number[];
  /** The depth (slot) of each, in the same order. */
  depths: number[];
}

/**
 * A raw file read once ({@linkcode openRawTrace}): what its events need. Dispose to close it.
 * Every field is final once it is open.
 */
export interface RawPass extends Disposable {
  /** The header's JSON text (`otherData`); undefined when the file holds no complete header. */
  readonly header: string | undefined;
  /** Every name the file gives, wherever it gives it. */
  readonly names: NameTable;
  /** The end record's JSON text (`tracerEnd`); undefined for a process that died without it. */
  readonly endText: string | undefined;
  /** Each thread's open calls, in the order of their (last) `S` records. */
  readonly stacks: readonly OpenStack[];
  /** Each thread's last `O` record's payload: the arguments of its open calls, by depth. */
  readonly openArgs: ReadonlyMap<number, Uint8Array>;
  /**
   * Bytes not used: a cut-off record (its head to the end of the file), or a damaged one and
   * everything after it up to the end of the data (the zeros after a killed process's last record
   * do not count).
   */
  readonly leftover: number;
  /** `--flight`: what is kept (lib/raw/flight.ts); undefined for a file that keeps everything. */
  readonly window: FlightWindow | undefined;
  /** `--tracer_entries`: the calls kept (lib/raw/cap.ts); undefined when every call is kept. */
  readonly trim: CapTrim | undefined;
  /**
   * The records after the header but padding, in file order, up to where the first reading found
   * the data ends (a zero kind byte, a cut-off record or a damaged one). Each call reads the file
   * again (one at a time: they share the file's position).
   */
  records(): AsyncGenerator<RawRecord>;
}

/**
 * Opens `rawPath` and reads it once (names, end record, open calls, where the data ends); throws
 * a TracerError if it is unreadable, foreign or of another format version. A file too short to
 * hold the magic line, or holding it and nothing else, has no header.
 */
export async function openRawTrace(rawPath: string): Promise<RawPass> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(rawPath, { read: true });
  } catch (error) {
    throw new TracerError(`cannot read trace data ${rawPath}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    const index = await readIndex(file, rawPath);
    return {
      header: index.header,
      names: index.names,
      endText: index.endText,
      stacks: index.stacks,
      openArgs: index.openArgs,
      leftover: index.leftover,
      window: index.flight?.window(endMonoNs(index.endText)),
      trim: await capTrimOf(index, file),
      records: () => recordsOf(file, index),
      [Symbol.dispose]() {
        file.close();
      },
    };
  } catch (error) {
    file.close();
    throw error;
  }
}

/** The records after the header but padding, in file order, up to where the data ends. */
async function* recordsOf(file: Deno.FsFile, index: Index): AsyncGenerator<RawRecord> {
  if (index.header === undefined) return;
  const reader = new FileReader(file, index.dataEnd);
  await reader.seek(index.recordsStart);
  for (let step = await nextRecord(reader, ALL_KINDS); !("stop" in step);) {
    if (step.payload !== undefined) yield { kind: step.kind, payload: step.payload };
    step = await nextRecord(reader, ALL_KINDS);
  }
}

/**
 * What a capped file keeps (lib/raw/cap.ts), read once more for every finished call's end when
 * it may hold more calls than its cap (its blocks' counts and open calls say at most how many);
 * undefined when it keeps every call.
 */
async function capTrimOf(index: Index, file: Deno.FsFile): Promise<CapTrim | undefined> {
  const cap = index.cap;
  if (cap === undefined) return undefined;
  const open = index.stacks.reduce((n, stack) => n + stack.starts.length, 0);
  if (cap.loss === undefined && cap.mostCalls + open <= cap.cap) return undefined;
  const ends = new CallEnds();
  const lastFinished = new Map<number, LastCall>();
  for await (const rec of recordsOf(file, index)) {
    if (rec.kind === RecordKind.events) {
      const numbers = eventNumbers(rec.payload);
      noteLastFinished(lastFinished, numbers);
      const to = 2 + 3 * numbers[1];
      for (let i = 2; i < to; i += 3) ends.push(numbers[i] + numbers[i + 1]);
    } else if (rec.kind === RecordKind.values) {
      eachValuesCall(rec.payload, (start, dur) => ends.push(start + dur));
    }
  }
  const stillOpen = index.stacks.reduce(
    (n, stack) => n + withoutFinished(stack, lastFinished.get(stack.tid)).starts.length,
    0,
  );
  return capTrim(cap.cap, ends.view(), stillOpen, cap.loss);
}

/** A thread's finished call that ends latest: start, name id, end (ns). */
type LastCall = [number, number, number];

/**
 * Notes an events block's last call as its thread's latest finished one when it ends no earlier
 * than the one noted (a recycled block earlier in the file may hold the thread's latest calls).
 */
function noteLastFinished(last: Map<number, LastCall>, numbers: Float64Array): void {
  const count = numbers[1];
  if (count <= 0) return;
  const i = 2 + 3 * count - 3;
  const end = numbers[i] + numbers[i + 1];
  const noted = last.get(numbers[0]);
  if (noted === undefined || end >= noted[2]) {
    last.set(numbers[0], [numbers[i], numbers[i + 2], end]);
  }
}

/** The numbers of an events block: tid, count, then (start_ns, dur_ns, name_id) per slot. */
export function eventNumbers(payload: Uint8Array): Float64Array {
  return payload.byteOffset % 8 === 0
    ? new Float64Array(payload.buffer, payload.byteOffset, payload.length / 8)
    : new Float64Array(payload.slice().buffer);
}

/** What a whole {@linkcode visitRecords} pass read, handed to the visitor at its end. */
export interface RawSummary {
  /** The end record's JSON text; undefined for a process that died without it. */
  endText: string | undefined;
  /** X events handed out, unfinished ones included. */
  events: number;
  /** Of those, the open calls the reader closed. */
  unfinished: number;
  /** The earliest start of those events (ns); Infinity when there is none. */
  minNs: number;
  /**
   * Where the open calls end (ns): the end record's `end_mono_ns`, else (a killed process) the
   * latest clock the file shows, the end of a finished call or the start of an open one;
   * undefined when it shows none.
   */
  endNs: number | undefined;
  /** Bytes of a cut-off or damaged record and after it ({@linkcode RawPass.leftover}). */
  leftover: number;
  /** Calls the event cap left out ({@linkcode RawPass.trim}): dropped, beside the shim's count. */
  leftOut: number;
}

/** What a pass over a raw file does with its events and metadata. */
export interface RecordVisitor {
  /**
   * X events `numbers[from, to)`, whole (start_ns, dur_ns, name_id) triples of one events block
   * (`numbers[0]` is the tid); `unfinished` for the open calls closed at the end.
   */
  onEvents(numbers: Float64Array, from: number, to: number, unfinished: boolean): void;
  /** The metadata events of one metadata record. */
  onMeta(events: TraceEvent[]): void;
  /** Called once, after every event. */
  onEnd(summary: RawSummary): void;
}

/**
 * Reads the file again, handing each events block's calls and each metadata record's events to
 * `visitor` in file order, then each thread's open calls as unfinished events, then the summary.
 * Yields after each record, within an events block after each `batchEvents` events, and after
 * each thread's open calls.
 */
export async function* visitRecords(
  pass: RawPass,
  visitor: RecordVisitor,
  batchEvents = Infinity,
): AsyncGenerator<void> {
  const seen = { events: 0, minNs: Infinity, maxNs: -Infinity };
  const lastFinished = new Map<number, LastCall>();
  const open = new OpenEnds(pass.openArgs);
  const pid = pass.header === undefined ? 0 : pidOf(pass.header);
  const { window, trim } = pass;
  for await (const rec of pass.records()) {
    if (rec.kind === RecordKind.events) {
      const all = eventNumbers(rec.payload);
      noteLastFinished(lastFinished, all);
      const numbers = window !== undefined
        ? window.numbers(all)
        : trim !== undefined
        ? trim.numbers(all)
        : all;
      const to = 2 + 3 * numbers[1];
      const step = 3 * batchEvents;
      for (let from = 2; from < to; from += step) {
        const upTo = Math.min(to, from + step);
        noteClocks(numbers, from, upTo, seen);
        visitor.onEvents(numbers, from, upTo, false);
        if (upTo < to) yield;
      }
    } else if (rec.kind === RecordKind.meta) {
      const all = metaEvents(rec.payload);
      const events = window === undefined ? all : window.events(all);
      open.noteSpans(events);
      noteEventClocks(events, seen);
      visitor.onMeta(events);
    } else if (rec.kind === RecordKind.values) {
      const all = valuesEvents(rec.payload, pid, pass.names, trim);
      const events = window === undefined ? all : window.events(all);
      noteEventClocks(events, seen);
      visitor.onMeta(events);
    }
    yield;
  }
  const finished = seen.events;
  const endNs = window?.toNs ?? endMonoNs(pass.endText) ?? latestClock(seen.maxNs, pass.stacks);
  for (const found of pass.stacks) {
    const stack = outermost(withoutFinished(found, lastFinished.get(found.tid)), trim);
    const closed = open.close(stack, endNs!, pid, pass.names);
    if (closed.numbers.length > 2) {
      noteClocks(closed.numbers, 2, closed.numbers.length, seen);
      visitor.onEvents(closed.numbers, 2, closed.numbers.length, true);
    }
    if (closed.events.length > 0) visitor.onMeta(closed.events);
    seen.events += closed.calls - (closed.numbers.length - 2) / 3; // those with arguments
    seen.minNs = Math.min(seen.minNs, ...stack.starts);
    yield;
  }
  const spansLeft = open.closeSpans(endNs, pid);
  if (spansLeft.length > 0) visitor.onMeta(spansLeft);
  if (trim !== undefined) visitor.onMeta(trim.markers(pid, endNs!, pass.stacks[0]?.tid ?? pid));
  visitor.onEnd({
    endText: pass.endText,
    events: seen.events,
    unfinished: seen.events - finished,
    minNs: seen.minNs,
    endNs,
    leftover: pass.leftover,
    leftOut: trim?.leftOut ?? 0,
  });
}

/** The pid a file's events get: `otherData.pid` of its header's text, or 0 when it is not a number. */
export function pidOf(headerText: string): number {
  try {
    const pid = (JSON.parse(headerText) as Record<string, unknown>).pid;
    return typeof pid === "number" ? pid : 0;
  } catch {
    return 0;
  }
}

/**
 * What stays open at the end of a file beyond the calls' numbers: the arguments of the open calls
 * (a thread's last `O` record: the slot of a call's depth, when it names the call's name id) and
 * the spans of the in-program API whose `E` never came. At the end each thread's open calls and
 * spans are closed together, nested by their starts.
 */
class OpenEnds {
  /** tid -> the starts (µs) of its spans still open, in order. */
  readonly #spans = new Map<number, number[]>();

  constructor(private readonly openArgs: ReadonlyMap<number, Uint8Array>) {}

  /** The arguments of the open call of `tid` at `depth` named `nameId`, if its slot has them. */
  #args(tid: number, depth: number, nameId: number): unknown {
    const payload = this.openArgs.get(tid);
    const at = BLOCK_HEAD_BYTES + depth * OPEN_ARGS_SLOT_BYTES;
    if (payload === undefined || at + OPEN_ARGS_SLOT_BYTES > payload.length) return undefined;
    const view = new DataView(payload.buffer, payload.byteOffset + at, OPEN_ARGS_SLOT_BYTES);
    const length = view.getUint32(0, true);
    if (view.getUint32(4, true) !== nameId || length > OPEN_ARGS_SLOT_BYTES - 8) return undefined;
    try {
      const args: unknown = JSON.parse(decoder.decode(payload.subarray(at + 8, at + 8 + length)));
      return args !== null && typeof args === "object" && !Array.isArray(args) ? args : undefined;
    } catch {
      return undefined;
    }
  }

  /** Follows the spans (`B` and `E` events of a thread) of a metadata record. */
  noteSpans(events: TraceEvent[]): void {
    for (const event of events) {
      if (event.ph !== "B" && event.ph !== "E") continue;
      const tid = Number(event.tid);
      const spans = this.#spans.get(tid) ?? [];
      if (event.ph === "B") spans.push(Number(event.ts));
      else spans.pop();
      this.#spans.set(tid, spans);
    }
  }

  /**
   * A thread's open calls and spans closed at `endNs`: the outermost there, each other 1 ns
   * before the one around it (a reader adding `ts` and `dur` in floating point would otherwise
   * see a callee end a hair after its caller), none before its own start. The calls without
   * arguments as an events block's numbers, those with as X events, and the spans' `E` events;
   * `calls` counts the calls.
   */
  close(
    stack: OpenStack,
    endNs: number,
    pid: number,
    names: NameTable,
  ): { numbers: Float64Array; events: TraceEvent[]; calls: number } {
    const tid = stack.tid;
    const spans = this.#spans.get(tid) ?? [];
    this.#spans.delete(tid);
    const items = [
      ...stack.starts.map((start, k) => ({ start, k })),
      ...spans.map((ts) => ({ start: Math.round(ts * 1000), k: -1 })),
    ].sort((a, b) => a.start - b.start);
    const plain: number[] = [];
    const events: TraceEvent[] = [];
    const spanEnds: TraceEvent[] = [];
    let end = endNs + 1;
    for (const { start, k } of items) {
      end = Math.max(end - 1, start);
      if (k < 0) {
        spanEnds.push(spanEnd(pid, tid, end));
        continue;
      }
      const nameId = stack.nameIds[k];
      const args = this.#args(tid, stack.depths[k], nameId);
      if (args === undefined) {
        plain.push(start, end - start, nameId);
        continue;
      }
      const { name, cat } = names.values(nameId);
      events.push({
        ph: "X",
        pid,
        tid,
        ts: start / 1000,
        dur: (end - start) / 1000,
        name,
        cat,
        args: { func_args: args, unfinished: true },
      });
    }
    events.push(...spanEnds.reverse()); // an E closes the latest B: the innermost first
    const numbers = new Float64Array(2 + plain.length);
    numbers[0] = tid;
    numbers[1] = plain.length / 3;
    numbers.set(plain, 2);
    return { numbers, events, calls: stack.starts.length };
  }

  /** The `E` events of the spans of threads with no open call, at `endNs`. */
  closeSpans(endNs: number | undefined, pid: number): TraceEvent[] {
    const events: TraceEvent[] = [];
    for (const [tid, spans] of this.#spans) {
      const ends: TraceEvent[] = [];
      let end = (endNs ?? Math.round((spans.at(-1) ?? 0) * 1000)) + 1;
      for (const ts of spans) {
        end = Math.max(end - 1, Math.round(ts * 1000));
        ends.push(spanEnd(pid, tid, end));
      }
      events.push(...ends.reverse()); // an E closes the latest B: the innermost first
    }
    return events;
  }
}

/** The `E` event that closes a span still open at the end (at `endNs`). */
function spanEnd(pid: number, tid: number, endNs: number): TraceEvent {
  return { ph: "E", pid, tid, ts: endNs / 1000, args: { unfinished: true } };
}

/**
 * Widens the earliest start and the latest end by the events written whole that are the
 * program's (calls with their arguments, instants, counters, spans, gc passes), and counts their
 * X events (calls); M events and arrows are the tracer's own.
 */
function noteEventClocks(
  events: TraceEvent[],
  seen: { events: number; minNs: number; maxNs: number },
): void {
  for (const event of events) {
    const ph = event.ph;
    if (ph === "M" || ph === "s" || ph === "t" || ph === "f" || typeof event.ts !== "number") {
      continue;
    }
    const start = Math.round(event.ts * 1000);
    const end = start + Math.round((typeof event.dur === "number" ? event.dur : 0) * 1000);
    if (start < seen.minNs) seen.minNs = start;
    if (end > seen.maxNs) seen.maxNs = end;
    if (ph === "X") seen.events++;
  }
}

/** Counts events `numbers[from, to)` and widens the earliest start and the latest end. */
function noteClocks(
  numbers: Float64Array,
  from: number,
  to: number,
  seen: { events: number; minNs: number; maxNs: number },
): void {
  let { minNs, maxNs } = seen;
  for (let i = from; i < to; i += 3) {
    const start = numbers[i];
    if (start < minNs) minNs = start;
    if (start + numbers[i + 1] > maxNs) maxNs = start + numbers[i + 1];
  }
  seen.minNs = minNs;
  seen.maxNs = maxNs;
  seen.events += (to - from) / 3;
}

/**
 * A thread's open calls without the innermost one when it is also the thread's last finished call:
 * the writer stores a finished call before it lowers the depth, so a process killed in between
 * leaves that call both finished and open (docs/internals.md, 2a); it is the finished one.
 */
function withoutFinished(stack: OpenStack, last: LastCall | undefined): OpenStack {
  const top = stack.starts.length - 1;
  if (last === undefined || top < 0) return stack;
  if (stack.starts[top] !== last[0] || stack.nameIds[top] !== last[1]) return stack;
  return {
    tid: stack.tid,
    starts: stack.starts.slice(0, top),
    nameIds: stack.nameIds.slice(0, top),
    depths: stack.depths.slice(0, top),
  };
}

/** A thread's open calls as the event cap keeps them: its outermost ones (lib/raw/cap.ts). */
function outermost(stack: OpenStack, trim: CapTrim | undefined): OpenStack {
  if (trim === undefined) return stack;
  const kept = trim.open(stack.starts.length);
  if (kept === stack.starts.length) return stack;
  return {
    tid: stack.tid,
    starts: stack.starts.slice(0, kept),
    nameIds: stack.nameIds.slice(0, kept),
    depths: stack.depths.slice(0, kept),
  };
}

/** `end_mono_ns` of the end record, when it is a number. */
function endMonoNs(endText: string | undefined): number | undefined {
  if (endText === undefined) return undefined;
  const end = (JSON.parse(endText) as Record<string, unknown>).end_mono_ns;
  return typeof end === "number" && Number.isFinite(end) ? end : undefined;
}

/** A killed process's last moment: the latest finished call's end or open call's start. */
function latestClock(maxEndNs: number, stacks: readonly OpenStack[]): number | undefined {
  let latest = maxEndNs;
  for (const stack of stacks) for (const start of stack.starts) latest = Math.max(latest, start);
  return latest === -Infinity ? undefined : latest;
}

/** A values block's call: start_ns, dur_ns, name id (float64), args text bytes (u32), 4 zeros. */
const VALUES_CALL_BYTES = 32;

/**
 * Hands each call of a values block (its first `used` bytes) to `visit`: its numbers as an events
 * block has them, then where its args (the text of a JSON object, 8-aligned) are.
 */
function eachValuesCall(
  payload: Uint8Array,
  visit: (start: number, dur: number, nameId: number, from: number, length: number) => void,
): void {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const end = BLOCK_HEAD_BYTES + int64(view, 8);
  for (let at = BLOCK_HEAD_BYTES; at + VALUES_CALL_BYTES <= end;) {
    const length = view.getUint32(at + 24, true);
    const from = at + VALUES_CALL_BYTES;
    visit(
      view.getFloat64(at, true),
      view.getFloat64(at + 8, true),
      view.getFloat64(at + 16, true),
      from,
      length,
    );
    at = from + Math.ceil(length / 8) * 8;
  }
}

/**
 * The calls of a values block as X events, those `trim` keeps (all without one). A call whose
 * args do not parse (its process died while writing them) gets none.
 */
function valuesEvents(
  payload: Uint8Array,
  pid: number,
  names: NameTable,
  trim?: CapTrim,
): TraceEvent[] {
  const tid = int64(new DataView(payload.buffer, payload.byteOffset, 8), 0);
  const events: TraceEvent[] = [];
  eachValuesCall(payload, (start, dur, nameId, from, length) => {
    if (trim !== undefined && !trim.keep(start, start + dur, tid)) return;
    const { name, cat } = names.values(nameId);
    let args: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(decoder.decode(payload.subarray(from, from + length)));
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
        args = parsed as Record<string, unknown>;
      }
    } catch { /* no args */ }
    events.push({ ph: "X", pid, tid, ts: start / 1000, dur: dur / 1000, name, cat, args });
  });
  return events;
}

function metaEvents(payload: Uint8Array): TraceEvent[] {
  const events: unknown = JSON.parse(decoder.decode(payload));
  if (!Array.isArray(events)) throw new Error("a metadata record is not a JSON array");
  return events;
}

const decoder = new TextDecoder();

/** What the first reading of a file finds, and where the second one starts and stops. */
interface Index {
  header: string | undefined;
  names: NameTable;
  endText: string | undefined;
  stacks: OpenStack[];
  openArgs: Map<number, Uint8Array>;
  leftover: number;
  /** `--flight`: the first reading's clock (lib/raw/flight.ts); undefined for other files. */
  flight: FlightClock | undefined;
  /** `--tracer_entries` (lib/raw/cap.ts); undefined for a file without `event_cap`. */
  cap: CapCount | undefined;
  /** The offset of the record after the header. */
  recordsStart: number;
  /** Where the data ends: a zero kind byte, a cut-off or damaged record, or the end of the file. */
  dataEnd: number;
}

/** What the first reading of a capped file counts. */
interface CapCount {
  cap: number;
  /** At most how many finished calls the file holds: its events blocks' counts and values bytes. */
  mostCalls: number;
  /** The `D` record: what the writer's ring recycled; undefined when it recycled nothing. */
  loss: RingLoss | undefined;
}

/** The first reading: the magic line, the header, then every record but the events' numbers. */
async function readIndex(file: Deno.FsFile, rawPath: string): Promise<Index> {
  const size = (await file.stat()).size;
  const reader = new FileReader(file, size);
  const index: Index = {
    header: undefined,
    names: new NameTable(),
    endText: undefined,
    stacks: [],
    openArgs: new Map(),
    leftover: 0,
    flight: undefined,
    cap: undefined,
    recordsStart: RAW_MAGIC.length,
    dataEnd: RAW_MAGIC.length,
  };
  const got = await reader.fill(RAW_MAGIC.length);
  if (!hasMagic(reader.view(got), rawPath)) return index;
  await reader.skip(RAW_MAGIC.length);
  const first = await nextRecord(reader, ALL_KINDS);
  if ("stop" in first || first.kind !== RecordKind.header) {
    return ends(index, file, "stop" in first ? first : { stop: "damaged", at: first.at }, size);
  }
  index.header = decoder.decode(first.payload);
  index.recordsStart = reader.offset;
  const seconds = flightSeconds(index.header);
  // A flight file's end is its latest clock, read before the second reading trims to it.
  if (seconds > 0) index.flight = new FlightClock(seconds);
  const cap = eventCap(index.header);
  if (cap > 0) index.cap = { cap, mostCalls: 0, loss: undefined };
  const kinds = index.flight === undefined ? INDEX_KINDS : ALL_KINDS;
  const stacks = new Map<number, OpenStack>();
  for (;;) {
    const step = await nextRecord(reader, kinds);
    if ("stop" in step) {
      index.stacks = [...stacks.values()];
      noteStacks(index);
      return ends(index, file, step, size);
    }
    if (!takeRecord(step, index, stacks)) {
      index.stacks = [...stacks.values()];
      noteStacks(index);
      return ends(index, file, { stop: "damaged", at: step.at }, size);
    }
  }
}

/** A flight file's open calls count in its latest clock. */
function noteStacks(index: Index): void {
  for (const stack of index.stacks) {
    for (const start of stack.starts) index.flight?.noteStart(start);
  }
}

/** Takes in one record of the first reading; false when it is damaged (JSON that is not). */
function takeRecord(rec: Found, index: Index, stacks: Map<number, OpenStack>): boolean {
  const payload = rec.payload;
  if (index.cap !== undefined && rec.used !== undefined) {
    index.cap.mostCalls += rec.kind === RecordKind.events ? rec.used : rec.used / VALUES_CALL_BYTES;
  }
  if (payload === undefined) return true; // events (read the second time) or padding
  try {
    switch (rec.kind) {
      case RecordKind.names:
        index.names.add(JSON.parse(decoder.decode(payload)));
        return true;
      case RecordKind.meta: {
        const events: unknown = JSON.parse(decoder.decode(payload));
        if (Array.isArray(events)) index.flight?.noteEvents(events);
        return Array.isArray(events);
      }
      case RecordKind.events:
        index.flight?.noteNumbers(eventNumbers(payload));
        return true;
      case RecordKind.values:
        index.flight?.noteEvents(valuesEvents(payload, 0, index.names));
        return true;
      case RecordKind.end: {
        const text = decoder.decode(payload);
        const end: unknown = JSON.parse(text);
        if (typeof end !== "object" || end === null || Array.isArray(end)) return false;
        index.endText = text;
        return true;
      }
      case RecordKind.openArgs: {
        // A thread's last `O` record has its open calls' arguments (a copy: the reader's buffer
        // is reused).
        const tid = int64(new DataView(payload.buffer, payload.byteOffset, 8), 0);
        index.openArgs.set(tid, payload.slice());
        return true;
      }
      case RecordKind.dropped: {
        const numbers = eventNumbers(payload);
        const loss = { calls: numbers[0], latestNs: numbers[1] };
        if (index.cap !== undefined && loss.calls > 0) index.cap.loss = loss;
        return true;
      }
      case RecordKind.stack: {
        const stack = openStack(payload);
        // The last `S` record of a thread is its stack, and its place in the order is that one's.
        stacks.delete(stack.tid);
        stacks.set(stack.tid, stack);
        return true;
      }
      default:
        return true;
    }
  } catch {
    return false;
  }
}

/** The recorded calls of a stack record (its depth was checked against its slots). */
function openStack(payload: Uint8Array): OpenStack {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const depth = int64(view, 8);
  const stack: OpenStack = { tid: int64(view, 0), starts: [], nameIds: [], depths: [] };
  for (let k = 0; k < depth; k++) {
    const at = BLOCK_HEAD_BYTES + k * STACK_SLOT_BYTES;
    const nameId = int64(view, at + 8);
    if (nameId <= 0) continue; // a call not recorded (filtered, too deep, past the cap)
    stack.starts.push(int64(view, at));
    stack.nameIds.push(nameId);
    stack.depths.push(k);
  }
  return stack;
}

/** Little-endian int64 as a number: exact below 2^53, which tids and ns clocks are. */
function int64(view: DataView, at: number): number {
  return view.getInt32(at + 4, true) * 2 ** 32 + view.getUint32(at, true);
}

/** Fills in where the data ends and the bytes not used, from why the first reading stopped. */
async function ends(index: Index, file: Deno.FsFile, stop: Stop, size: number): Promise<Index> {
  // A record whose padding the end of the file cut off ends the data past the file's end.
  index.dataEnd = Math.min(stop.at, size);
  if (stop.stop === "cut") index.leftover = size - stop.at;
  if (stop.stop === "damaged") index.leftover = await dataEndAfter(file, stop.at, size) - stop.at;
  return index;
}

/**
 * True when `bytes` (the file's first 16 bytes, or all of a shorter file) are the magic line;
 * false when they are only a start of it, then zeros (a writer that has not stored it yet, or a
 * file cut short); throws a TracerError for anything else.
 */
function hasMagic(bytes: Uint8Array, rawPath: string): boolean {
  let i = 0;
  while (i < bytes.length && bytes[i] === RAW_MAGIC.charCodeAt(i)) i++;
  if (i === RAW_MAGIC.length) return true;
  if (bytes.subarray(i).every((byte) => byte === 0)) return false;
  const version = MAGIC_LINE.exec(decoder.decode(bytes))?.[1];
  if (version !== undefined && version !== RAW_VERSION) {
    throw new TracerError(
      `${rawPath} was written by another tracer version (raw format ${version}; this tracer ` +
        `reads format ${RAW_VERSION})`,
    );
  }
  throw new TracerError(`${rawPath} is not a tracer raw trace file (bad magic line)`);
}

/**
 * Where the data after a damaged record at `from` ends: after the file's last nonzero byte (at a
 * multiple of 8, as records end), so that the zeros of a killed process's last segment are not
 * counted as lost. Read backwards in bounded chunks.
 */
async function dataEndAfter(file: Deno.FsFile, from: number, size: number): Promise<number> {
  const chunk = new Uint8Array(Math.min(READ_BYTES, size - from));
  for (let to = size; to > from;) {
    const at = Math.max(from, to - chunk.length);
    const bytes = chunk.subarray(0, to - at);
    await file.seek(at, Deno.SeekMode.Start);
    let got = 0;
    while (got < bytes.length) {
      const n = await file.read(bytes.subarray(got));
      if (n === null) break;
      got += n;
    }
    for (let i = got - 1; i >= 0; i--) {
      if (bytes[i] !== 0) return Math.min(size, from + Math.ceil((at + i + 1 - from) / 8) * 8);
    }
    to = at;
  }
  return from;
}

/** A record the reader found; `payload` is undefined for a kind it was not asked to read. */
interface Found {
  kind: number;
  at: number;
  payload: Uint8Array | undefined;
  /** An events block's count, a values block's bytes used (read with the record's head). */
  used?: number;
}

/** Where and why the data ends: a zero kind byte or the end (`end`), `cut` off, `damaged`. */
interface Stop {
  stop: "end" | "cut" | "damaged";
  at: number;
}

/** The kinds whose payloads are read: all but padding. */
const ALL_KINDS: ReadonlySet<number> = new Set(
  [...KINDS].filter((kind) => kind !== RecordKind.padding),
);
/** The first reading skips the events' numbers too. */
const INDEX_KINDS: ReadonlySet<number> = new Set(
  [...ALL_KINDS].filter((kind) => kind !== RecordKind.events && kind !== RecordKind.values),
);

/**
 * The next record, its payload read for the kinds in `read`, and the reader moved past it; or
 * where and why the data ends. Checks a record's size against the file before reading it, and a
 * block's count (or depth) against its slots.
 */
async function nextRecord(reader: FileReader, read: ReadonlySet<number>): Promise<Found | Stop> {
  const at = reader.offset;
  const got = await reader.fill(HEAD_BYTES);
  const head = reader.view(got);
  if (got === 0 || head[0] === 0) return { stop: "end", at };
  if (got < HEAD_BYTES) return { stop: "cut", at };
  const kind = head[0];
  const size = (head[4] | head[5] << 8 | head[6] << 16 | head[7] << 24) >>> 0;
  if (at + HEAD_BYTES + size > reader.limit) return { stop: "cut", at };
  // An events or values block has its recycle number there (2a).
  const spare = kind === RecordKind.events || kind === RecordKind.values
    ? 0
    : head[1] | head[2] | head[3];
  if (spare !== 0 || !KINDS.has(kind) || size > MAX_RECORD_BYTES) {
    return { stop: "damaged", at };
  }
  if (kind === RecordKind.dropped && size !== DROPPED_BYTES) return { stop: "damaged", at };
  let used: number | undefined;
  if (BLOCK_KINDS.has(kind)) {
    if (size < BLOCK_HEAD_BYTES) return { stop: "damaged", at };
    await reader.fill(HEAD_BYTES + BLOCK_HEAD_BYTES);
    const view = reader.view(HEAD_BYTES + BLOCK_HEAD_BYTES);
    const blockHead = new DataView(view.buffer, view.byteOffset + HEAD_BYTES);
    if (!blockFits(kind, size, blockHead)) return { stop: "damaged", at };
    if (kind === RecordKind.events) used = blockHead.getFloat64(8, true);
    if (kind === RecordKind.values) used = int64(blockHead, 8);
  }
  let payload: Uint8Array | undefined;
  if (read.has(kind)) {
    await reader.fill(HEAD_BYTES + size);
    payload = reader.view(HEAD_BYTES + size).subarray(HEAD_BYTES);
  }
  // The padding to the next multiple of 8 may be missing at the end of the file: then it ends.
  await reader.skip(Math.ceil((HEAD_BYTES + size) / 8) * 8);
  return { kind, at, payload, used };
}

/** True when a block's size is its head and whole slots, and its count or depth fits them. */
function blockFits(kind: number, size: number, head: DataView): boolean {
  if (kind === RecordKind.values) {
    const used = int64(head, 8);
    return used >= 0 && used <= size - BLOCK_HEAD_BYTES;
  }
  const slotBytes = kind === RecordKind.events
    ? EVENT_SLOT_BYTES
    : kind === RecordKind.stack
    ? STACK_SLOT_BYTES
    : OPEN_ARGS_SLOT_BYTES;
  const slots = (size - BLOCK_HEAD_BYTES) / slotBytes;
  const used = kind === RecordKind.events ? head.getFloat64(8, true) : int64(head, 8);
  return Number.isInteger(slots) && Number.isInteger(used) && used >= 0 && used <= slots;
}

/** Buffered reads of a file up to `limit`, tracking the file offset of the next unread byte. */
class FileReader {
  #buffer = new Uint8Array(READ_BYTES);
  #start = 0;
  #end = 0;
  #offset = 0;

  constructor(private readonly file: Deno.FsFile, readonly limit: number) {}

  /** The file offset of the next byte. */
  get offset(): number {
    return this.#offset;
  }

  /** Makes the next `wanted` bytes available (fewer at the limit); returns how many are. */
  async fill(wanted: number): Promise<number> {
    while (this.#end - this.#start < wanted) {
      const room = this.limit - this.#offset - (this.#end - this.#start);
      if (room <= 0) break;
      if (this.#start + wanted > this.#buffer.length) this.#makeRoom(wanted);
      const space = this.#buffer.subarray(this.#end, this.#end + room);
      const n = await this.file.read(space);
      if (n === null) break;
      this.#end += n;
    }
    return Math.min(wanted, this.#end - this.#start);
  }

  /** The next `length` bytes, filled before; valid until the next `fill`. */
  view(length: number): Uint8Array {
    return this.#buffer.subarray(this.#start, this.#start + length);
  }

  /** Moves `bytes` bytes on, reading past none of them that are not buffered. */
  async skip(bytes: number): Promise<void> {
    if (bytes <= this.#end - this.#start) {
      this.#start += bytes;
      this.#offset += bytes;
      return;
    }
    await this.seek(this.#offset + bytes);
  }

  /** Moves to file offset `offset`, dropping what is buffered. */
  async seek(offset: number): Promise<void> {
    await this.file.seek(offset, Deno.SeekMode.Start);
    this.#offset = offset;
    this.#start = this.#end = 0;
  }

  /** Moves the unread bytes to the buffer's start, in a larger buffer when `wanted` needs it. */
  #makeRoom(wanted: number): void {
    // `wanted` was checked against the file size and MAX_RECORD_BYTES by the caller.
    const size = Math.max(this.#buffer.length, wanted + READ_BYTES);
    const next = size === this.#buffer.length ? this.#buffer : new Uint8Array(size);
    if (next === this.#buffer) next.copyWithin(0, this.#start, this.#end);
    else next.set(this.#buffer.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    this.#buffer = next;
  }
}
