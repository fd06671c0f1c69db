/**
 * The report's binary data format, shared by the writer (encode) and the viewer (decode).
 * No Deno or DOM APIs: both sides import it.
 *
 * Layout of the uncompressed stream: the 4 magic bytes `TRC1`, a varint byte length, the header
 * as UTF-8 JSON ({@linkcode ReportHeader}), then the slice columns. Each column holds every track
 * in header order; every value is an unsigned LEB128 varint:
 * start delta (ticks from the previous slice start of the track, the first from `header.origin`),
 * duration (ticks), depth, name (string id), category (string id + 1, 0: none),
 * flags ({@linkcode FLAG_UNFINISHED}, {@linkcode FLAG_ARGS}), then for every slice with
 * `FLAG_ARGS` its args (string id of the JSON text). Splitting columns keeps similar bytes together,
 * which roughly halves the compressed size compared with interleaved rows.
 * @module
 */
import type { CombineStats, TraceWarning } from "./trace_event.ts";

/** First bytes of the uncompressed data. */
export const MAGIC = "TRC1";
/** Slice was still running when its process ended. */
export const FLAG_UNFINISHED = 1;
/** Slice has args (an entry in the args column). */
export const FLAG_ARGS = 2;

/** A process as the report describes it. */
export interface ProcessInfo {
  pid: number | string;
  name: string;
  labels: string;
  sortIndex: number;
  /** Events the process recorded past its cap or lost (0 when unknown). */
  droppedEvents: number;
  /** How the process ended when not normally (`os._exit`, `signal:SIGTERM`, `no end record`). */
  ending?: string;
  /** The traced process that started this one, when known. */
  parent?: number | string;
  /** How it was started: `fork`, `spawn`, `forkserver`, `subprocess` (`exec` for a successor). */
  launch?: string;
  /** The host it ran on, set when the trace's processes come from more than one. */
  host?: string;
}

/** One (pid, tid) timeline; its slices live in the columns. */
export interface TrackInfo {
  pid: number | string;
  tid: number | string;
  name: string;
  sortIndex: number;
  /** Number of slices in the columns for this track. */
  count: number;
  maxDepth: number;
}

/**
 * A point in time on a track: `[trackIndex, ticks, nameId, scope, category, args]`: scope "t", "p"
 * or "g"; category its string id + 1 (0: none), as in the category column; args the string id of
 * its args JSON text, -1 when it has none. An exception the program raised is an instant of
 * category `exception` whose args say its `type`, `message` and (when a caller raised it again)
 * `reraised`.
 */
export type InstantRecord = [number, number, number, string, number, number];

/** One counter series: values of one counter (pid + name + key) over time. */
export interface CounterSeries {
  pid: number | string;
  name: string;
  /** Alternating ticks and values: `[t0, v0, t1, v1, ...]`. */
  points: number[];
}

/** What a flow arrow shows: a process start, a task sent to a worker, or its result coming back. */
export type FlowKind = "launch" | "task" | "result" | "flow";

/**
 * How a flow step finds its slice: `e` the deepest slice enclosing its time (Trace Event `s`, `t`,
 * and `f` with `bp:"e"`), `n` the next slice starting at or after it (`f` without `bp`, or a step
 * whose event says `args.bind: "next"`), `m` the longest top-level slice starting at or after it
 * (`args.bind: "main"`: a new program's main call).
 */
export type FlowBind = "e" | "n" | "m";

/** One flow arrow chain: the steps in time order, each `[trackIndex, ticks]`. */
export interface FlowRecord {
  name: string;
  steps: [number, number][];
  /** From the category: `tracer.launch`, `tracer.task`, `tracer.result`; "flow" otherwise. */
  kind?: FlowKind;
  /** Per step, how it binds to a slice (default: `e` first, `n` after). */
  binds?: FlowBind[];
}

/** Everything except the slice columns. */
export interface ReportHeader {
  version: 1;
  /** Length of one tick in nanoseconds. */
  tickNs: number;
  /** Ticks of the earliest timestamp; start deltas of each track begin from here. */
  origin: number;
  /** Ticks of the latest end. */
  end: number;
  /** Names, categories and args JSON texts, referenced by id. */
  strings: string[];
  processes: ProcessInfo[];
  tracks: TrackInfo[];
  instants: InstantRecord[];
  counters: CounterSeries[];
  flows: FlowRecord[];
  warnings: TraceWarning[];
  stats: CombineStats;
  /** Events the writer could not show (phase and count), e.g. `{ "b": 10 }`. */
  skipped: Record<string, number>;
  /** The run's command line (`argv` of the first process), when known. */
  metadata: { argv?: string[] };
}

/** Appends unsigned varints to growing byte chunks. */
export class VarintWriter {
  #buffer: Uint8Array;
  #length = 0;

  /** Creates a writer whose chunks are about `chunkSize` bytes. */
  constructor(readonly chunkSize = 1 << 16) {
    this.#buffer = new Uint8Array(chunkSize + 16);
  }

  /** Appends one non-negative integer (up to 2^53). */
  write(value: number): void {
    const buffer = this.#buffer;
    let length = this.#length;
    while (value >= 0x80) {
      buffer[length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    buffer[length++] = value;
    this.#length = length;
  }

  /** True when a full chunk is ready to `take`. */
  get full(): boolean {
    return this.#length >= this.chunkSize;
  }

  /** Returns the bytes written so far and starts a new chunk. */
  take(): Uint8Array {
    const chunk = this.#buffer.slice(0, this.#length);
    this.#length = 0;
    return chunk;
  }
}

/** Reads unsigned varints from one byte array. */
export class VarintReader {
  /** Position of the next byte. */
  offset = 0;

  /** Reads from `bytes`. */
  constructor(readonly bytes: Uint8Array) {}

  /** The next unsigned integer. */
  read(): number {
    const bytes = this.bytes;
    let byte = bytes[this.offset++];
    if (byte < 0x80) return byte;
    let value = byte & 0x7f;
    let scale = 0x80;
    for (;;) {
      if (this.offset >= bytes.length) throw new Error("report data is truncated");
      byte = bytes[this.offset++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  }
}
