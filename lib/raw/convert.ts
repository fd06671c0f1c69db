/**
 * Converts the binary per-process file the Python shim writes (`result_<pid>.raw`, read by
 * lib/raw/records.ts) into the per-process JSON file the rest of tracer reads (docs/internals.md,
 * section 2). Streaming: one record in memory at a time, JSON text written in ~1 MB chunks.
 * @module
 */
import { COMMA, NEWLINE } from "../bytes/ascii.ts";
import { ByteBuffer } from "../bytes/byte_buffer.ts";
import { TracerError } from "../errors.ts";
import type { TraceEvent } from "../trace_event.ts";
import { NameTable } from "./names.ts";
import { openRawTrace, type RawPass, type RecordVisitor, visitRecords } from "./records.ts";
import { appendXEvent, xEventPrefix } from "./x_event.ts";
import { cleanJsonText, jsonText } from "../json_text.ts";

/** What a conversion found. */
export interface ConvertResult {
  /** False when the file holds no complete header: nothing was written. */
  written: boolean;
  /** X events written, unfinished ones included. */
  events: number;
  /** Bytes after the last complete record (a process killed mid-write), or of a damaged record. */
  truncatedBytes: number;
  /** True when the end record was there (the process ended through the shim). */
  ended: boolean;
}

/** Options for {@linkcode convertRawFile}. */
export interface ConvertOptions {
  /**
   * The JSON file name for a raw file name, used to rewrite `otherData.exec_of` and `parent_file`.
   * Default: the same name ending in `.json`.
   */
  jsonName?: (rawName: string) => string;
  /** Aborted (tracer got a signal): stop, remove the partial JSON file, throw `stop.reason`. */
  stop?: AbortSignal;
}

const FLUSH_BYTES = 1 << 20;

/**
 * Writes `jsonPath` (which must not exist yet) from the raw file at `rawPath`. A file cut short
 * still gives complete JSON: every complete record, and a `tracerEnd` with `"exit":"killed"`.
 */
export async function convertRawFile(
  rawPath: string,
  jsonPath: string,
  options: ConvertOptions = {},
): Promise<ConvertResult> {
  const jsonName = options.jsonName ?? defaultJsonName;
  using pass = await openRawTrace(rawPath);
  if (pass.header === undefined) {
    return { written: false, events: 0, truncatedBytes: pass.leftover, ended: false };
  }
  let output: Deno.FsFile;
  try {
    output = await Deno.open(jsonPath, { write: true, createNew: true, mode: 0o644 });
  } catch (error) {
    throw new TracerError(`cannot write ${jsonPath}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    const header = headerWithJsonNames(pass.header, jsonName);
    const result = await writeConverted(pass, output, header, options.stop);
    output.close();
    return result;
  } catch (error) {
    output.close();
    await Deno.remove(jsonPath).catch(() => {});
    if (error instanceof TracerError || options.stop?.aborted) throw error;
    throw new TracerError(`cannot convert ${rawPath}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function writeConverted(
  pass: RawPass,
  output: Deno.FsFile,
  otherDataText: string,
  stop: AbortSignal | undefined,
): Promise<ConvertResult> {
  const lines = new JsonLines(pidOf(otherDataText));
  lines.out.text(`{"otherData":${otherDataText},"traceEvents":[`);
  for await (const _ of visitRecords(pass, lines)) {
    stop?.throwIfAborted();
    if (lines.out.length >= FLUSH_BYTES) await writeAll(output, lines.out.take());
  }
  const truncatedBytes = pass.leftover;
  const end = tracerEndText(lines.endText, {
    events: lines.count,
    truncatedBytes,
    minNs: lines.minNs,
  });
  lines.out.text(`\n],"tracerEnd":${end}}\n`);
  await writeAll(output, lines.out.take());
  return { written: true, events: lines.count, truncatedBytes, ended: lines.endText !== undefined };
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
}

/** The records of a raw file as the converted file's event lines, written as bytes. */
class JsonLines implements RecordVisitor {
  readonly names = new NameTable();
  readonly out = new ByteBuffer(FLUSH_BYTES + 4096);
  /** X events written. */
  count = 0;
  /** Earliest event start in ns, Infinity before the first event. */
  minNs = Infinity;
  /** The end record's text, once read. */
  endText: string | undefined;
  #lines = 0;
  readonly #pidText: string;

  constructor(pid: number) {
    this.#pidText = String(pid);
  }

  onEvents(numbers: Float64Array, from: number, to: number): void {
    const prefix = xEventPrefix(this.#pidText, numbers[0]);
    const out = this.out;
    const names = this.names;
    let minNs = this.minNs;
    for (let i = from; i < to; i += 3) {
      const start = numbers[i];
      if (start < minNs) minNs = start;
      this.#newLine();
      appendXEvent(out, prefix, start, numbers[i + 1], names.tail(numbers[i + 2]));
    }
    this.minNs = minNs;
    this.count += (to - from) / 3;
  }

  onMeta(events: TraceEvent[]): void {
    for (const event of events) {
      this.#newLine();
      this.out.text(jsonText(event));
    }
  }

  onEnd(text: string): void {
    this.endText = text;
  }

  /** `\n` before the first line, `,\n` before the others. */
  #newLine(): void {
    const out = this.out;
    out.reserve(2);
    if (this.#lines++ !== 0) out.bytes[out.length++] = COMMA;
    out.bytes[out.length++] = NEWLINE;
  }
}

/** The pid the events get: `otherData.pid`, or 0 when it is not a number. */
export function pidOf(otherDataText: string): number {
  const pid = (JSON.parse(otherDataText) as Record<string, unknown>).pid;
  return typeof pid === "number" ? pid : 0;
}

/**
 * The `tracerEnd` text of a converted file: the end record (or `"exit":"killed"` with the counts
 * when there is none) with `first_ts`, the earliest event start, in front.
 */
export function tracerEndText(
  endText: string | undefined,
  pass: { events: number; truncatedBytes: number; minNs: number },
): string {
  const end = endText !== undefined
    ? cleanJsonText(endText)
    : `{"exit":"killed","events":${pass.events},` +
      `"truncated_bytes":${pass.truncatedBytes}}`;
  if (pass.minNs === Infinity) return end;
  const rest = end.trimStart().slice(1).trimStart();
  return `{"first_ts":${microseconds(pass.minNs)}${rest.startsWith("}") ? "" : ","}${rest}`;
}

/** `result_12_1.raw` -> `result_12_1.json`. */
export function defaultJsonName(rawName: string): string {
  return rawName.replace(/\.raw$/, "") + ".json";
}

/**
 * The header with the `.raw` names in `exec_of` / `parent_file` replaced by their JSON names, as
 * text: re-serializing it would round its large integers (epoch_ns) through doubles.
 */
export function headerWithJsonNames(
  text: string,
  jsonName: (rawName: string) => string,
): string {
  text = cleanJsonText(text);
  const otherData = JSON.parse(text) as Record<string, unknown>;
  for (const key of ["exec_of", "parent_file"]) {
    const value = otherData[key];
    if (typeof value !== "string") continue;
    const before = `"${key}":${jsonText(value)}`;
    const at = text.lastIndexOf(before);
    if (at < 0) continue;
    text = text.slice(0, at) + `"${key}":${jsonText(jsonName(value))}` +
      text.slice(at + before.length);
  }
  return text;
}

/** Integer nanoseconds as microseconds with three decimals, by integer math: `1234567` -> `1234.567`. */
export function microseconds(ns: number): string {
  const whole = Math.floor(ns / 1000);
  const frac = ns - whole * 1000;
  return `${whole}.${frac >= 100 ? frac : frac >= 10 ? "0" + frac : "00" + frac}`;
}
