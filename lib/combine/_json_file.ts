/**
 * Reading a trace file for the scanner (lib/combine/_json_scanner.ts): its chunks, gunzipped when
 * it starts with the gzip magic bytes, one pass with a sink, and the two ends of a tracer
 * per-process file.
 * @module
 */
import { OPEN_BRACE } from "../bytes/ascii.ts";
import { type SpanSink, type TraceFileInfo, TraceScanner } from "./_json_scanner.ts";
import { type Turns, turnsFor } from "../turns.ts";
import { gunzip, TrailingGarbage } from "./_gunzip.ts";

const READ_SIZE = 1 << 20;

/**
 * The chunks of a file's JSON text, gunzipped when the file starts with the gzip magic bytes.
 * A chunk is only valid until the next one is requested: two read buffers take turns, the next
 * read running while the caller works on the current chunk.
 */
export async function* readChunks(path: string): AsyncGenerator<Uint8Array> {
  const file = await Deno.open(path, { read: true });
  let closed = false;
  let pending: Promise<number> | undefined;
  try {
    // A small file gets small buffers (one more byte: its end in one read): two buffers of 1 MiB
    // for each of 20,000 one-event files took seconds of the kernel's time.
    const size = Math.min(READ_SIZE, (await file.stat()).size + 1);
    let buffer = new Uint8Array(size);
    let spare = new Uint8Array(size);
    const first = await readFull(file, buffer);
    if (first >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b) {
      closed = true;
      yield* gunzip(file, buffer.slice(0, first));
      return;
    }
    let count = first;
    while (count > 0) {
      pending = count < size ? undefined : readFull(file, spare);
      yield buffer.subarray(0, count);
      count = pending === undefined ? 0 : await pending;
      pending = undefined;
      [buffer, spare] = [spare, buffer];
    }
  } finally {
    // A caller that stops early leaves a read running: let it finish before closing.
    await pending?.catch(() => {});
    if (!closed) file.close();
  }
}

async function readFull(file: Deno.FsFile, buffer: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const count = await file.read(buffer.subarray(filled));
    if (count === null) break;
    filled += count;
  }
  return filled;
}

/** The metadata a tracer per-process file carries at both ends (docs/internals.md). */
export interface TracerFileEnds {
  /** The first line's metadata, written at process start. */
  otherData: Record<string, unknown>;
  /** The last line's metadata, written at process end. */
  tracerEnd: Record<string, unknown>;
}

const END_BYTES = 1 << 16;
const TRACER_END_KEY = '"tracerEnd":';

/**
 * Reads only the first line and the last bytes of a file: returns its `otherData` and
 * `tracerEnd` when it is a complete, uncompressed tracer per-process file, else undefined.
 */
export async function readTracerFileEnds(path: string): Promise<TracerFileEnds | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch {
    return undefined;
  }
  try {
    const size = (await file.stat()).size;
    const head = new Uint8Array(Math.min(size, END_BYTES));
    const headLength = await readFull(file, head);
    if (head[0] !== OPEN_BRACE) return undefined;
    const scanner = new TraceScanner();
    scanner.feed(head.subarray(0, headLength), () => {});
    const otherData = scanner.metadata.otherData;
    if (!isRecord(otherData)) return undefined;
    const tailStart = Math.max(0, size - END_BYTES);
    await file.seek(tailStart, Deno.SeekMode.Start);
    const tail = new Uint8Array(size - tailStart);
    const tailLength = await readFull(file, tail);
    const text = new TextDecoder().decode(tail.subarray(0, tailLength)).trimEnd();
    const at = text.lastIndexOf(TRACER_END_KEY);
    if (at < 0 || !text.endsWith("}") || !/\]\s*,\s*$/.test(text.slice(0, at))) return undefined;
    const tracerEnd: unknown = JSON.parse(text.slice(at + TRACER_END_KEY.length, -1));
    return isRecord(tracerEnd) ? { otherData, tracerEnd } : undefined;
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One pass over a file: feeds its chunks to a scanner, which hands elements to `onSpans`. */
export class FileScan {
  #scanner = new TraceScanner();
  #readError: string | undefined;
  /** What the read noted that cost no data: trailing garbage after gzip data. */
  #readNote: string | undefined;
  readonly #turns: Turns;

  /**
   * Prepares a pass over `path`; nothing is opened until `chunks` is iterated. `stop` ends the
   * pass at the next chunk, whatever the chunk held (whitespace, one huge event).
   */
  constructor(
    readonly path: string,
    readonly onSpans: SpanSink,
    readonly stop?: AbortSignal,
  ) {
    this.#turns = turnsFor(stop);
  }

  /**
   * Reads the file, yielding after each chunk's elements went to `onSpans`. A read error ends the
   * pass and is reported by `finish`; only `stop` throws (its reason).
   */
  async *chunks(): AsyncGenerator<void> {
    const chunks = readChunks(this.path);
    try {
      for (;;) {
        let step: IteratorResult<Uint8Array>;
        try {
          step = await chunks.next();
        } catch (error) {
          if (error instanceof TrailingGarbage) this.#readNote = error.message;
          else this.#readError = describeReadError(error, this.path);
          return;
        }
        if (step.done) return;
        this.#scanner.feed(step.value, this.onSpans);
        await this.#turns.chunk();
        yield;
      }
    } finally {
      await chunks.return(undefined);
    }
  }

  /** The file's summary once `chunks` is exhausted; `kept` counts what the sink accepted. */
  finish(kept: { events: number; skipped: number }): TraceFileInfo {
    const info = this.#scanner.finish(kept);
    const note = this.#readNote;
    if (note !== undefined) {
      info.damage = info.damage === undefined ? note : `${info.damage}; ${note}`;
    }
    const readError = this.#readError;
    if (readError === undefined) return info;
    if (info.bytes === 0) {
      info.damage = readError;
      info.lostBytes = 0;
    } else {
      info.truncated = true;
      info.damage = `${readError} after ${info.bytes} bytes: kept ${info.events} events` +
        (info.damage === undefined ? "" : ` (${info.damage})`);
    }
    return info;
  }
}

function describeReadError(error: unknown, path: string): string {
  if (error instanceof Deno.errors.NotFound) {
    // A directory entry whose name is not UTF-8 reaches tracer with U+FFFD in place of the bad
    // bytes (Deno's file names are strings): that name opens nothing.
    return path.includes("\uFFFD")
      ? "its name is not valid UTF-8 (shown with \uFFFD), which tracer cannot open; rename the file"
      : "the file does not exist";
  }
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "it is a directory";
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && code.startsWith("Z_")) {
    return "the gzip data is corrupt or truncated"; // zlib's codes: Z_DATA_ERROR, Z_BUF_ERROR
  }
  return `cannot read it (${error instanceof Error ? error.message : String(error)})`;
}
