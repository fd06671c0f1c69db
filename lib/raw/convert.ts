/**
 * Converts the binary per-process file the Python shim writes (`result_<pid>.raw`, read by
 * lib/raw/records.ts) into the per-process JSON file the rest of tracer reads (docs/internals.md,
 * section 2). Streaming: one record in memory at a time (and the names and open calls), JSON text
 * written in ~1 MB chunks.
 * @module
 */
import { COMMA, NEWLINE } from "../bytes/ascii.ts";
import { ByteBuffer } from "../bytes/byte_buffer.ts";
import { TracerError } from "../errors.ts";
import type { TraceEvent } from "../trace_event.ts";
import type { NameTable } from "./names.ts";
import {
  openRawTrace,
  pidOf,
  type RawPass,
  type RawSummary,
  type RecordVisitor,
  visitRecords,
} from "./records.ts";
import { appendXEvent, xEventPrefix } from "./x_event.ts";
import { cleanJsonText, jsonText } from "../json_text.ts";

/** What a conversion found. */
export interface ConvertResult {
  /** False when the file holds no complete header: nothing was written. */
  written: boolean;
  /** X events written, unfinished ones included. */
  events: number;
  /** Bytes of a cut-off last record, or of a damaged record and after it. */
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
 * (or a killed process's) still gives complete JSON: every complete record, its open calls as
 * unfinished events, and a `tracerEnd` with `"exit":"killed"`.
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
  const lines = new JsonLines(pidOf(otherDataText), pass.names);
  lines.out.text(`{"otherData":${otherDataText},"traceEvents":[`);
  for await (const _ of visitRecords(pass, lines)) {
    stop?.throwIfAborted();
    if (lines.out.length >= FLUSH_BYTES) await writeAll(output, lines.out.take());
  }
  const summary = lines.summary!;
  lines.out.text(`\n],"tracerEnd":${tracerEndText(summary)}}\n`);
  await writeAll(output, lines.out.take());
  return {
    written: true,
    events: summary.events,
    truncatedBytes: summary.leftover,
    ended: summary.endText !== undefined,
  };
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
}

/** The records of a raw file as the converted file's event lines, written as bytes. */
class JsonLines implements RecordVisitor {
  readonly out = new ByteBuffer(FLUSH_BYTES + 4096);
  /** What the pass read, once it is done. */
  summary: RawSummary | undefined;
  #lines = 0;
  readonly #pidText: string;

  constructor(pid: number, private readonly names: NameTable) {
    this.#pidText = String(pid);
  }

  onEvents(numbers: Float64Array, from: number, to: number, unfinished: boolean): void {
    const prefix = xEventPrefix(this.#pidText, numbers[0]);
    const out = this.out;
    const names = this.names;
    for (let i = from; i < to; i += 3) {
      const id = numbers[i + 2];
      this.#newLine();
      appendXEvent(
        out,
        prefix,
        numbers[i],
        numbers[i + 1],
        unfinished ? names.openTail(id) : names.tail(id),
      );
    }
  }

  onMeta(events: TraceEvent[]): void {
    for (const event of events) {
      this.#newLine();
      this.out.text(jsonText(event));
    }
  }

  onEnd(summary: RawSummary): void {
    this.summary = summary;
  }

  /** `\n` before the first line, `,\n` before the others. */
  #newLine(): void {
    const out = this.out;
    out.reserve(2);
    if (this.#lines++ !== 0) out.bytes[out.length++] = COMMA;
    out.bytes[out.length++] = NEWLINE;
  }
}

/**
 * The `tracerEnd` text of a converted file: `first_ts`, the earliest event start (when there is an
 * event), then the end record with the reader's own `events` and `unfinished` counts (in place of
 * the shim's, any other member kept as written: re-serializing would round large integers) and
 * the calls the event cap left out added to `dropped_events`, or for a process that died without
 * one, `"exit":"killed"` with the counts, the calls left out, the clock its open calls end at and
 * the bytes it lost.
 */
export function tracerEndText(summary: RawSummary): string {
  const counts = [`"events":${summary.events}`, `"unfinished":${summary.unfinished}`];
  const members = summary.endText !== undefined
    ? withCounts(
      objectMembers(cleanJsonText(summary.endText)),
      counts,
      summary.leftOut,
    )
    : [
      `"exit":"killed"`,
      ...counts,
      ...(summary.leftOut > 0 ? [`"dropped_events":${summary.leftOut}`] : []),
      ...(summary.endNs !== undefined ? [`"end_mono_ns":${summary.endNs}`] : []),
      `"truncated_bytes":${summary.leftover}`,
    ];
  if (summary.minNs !== Infinity) members.unshift(`"first_ts":${microseconds(summary.minNs)}`);
  return `{${members.join(",")}}`;
}

/**
 * The members with `events` and `unfinished` replaced by `counts` (`"events":n`,
 * `"unfinished":u`), where they are or else at the end, `leftOut` added to `dropped_events`, and
 * without a `first_ts` of their own.
 */
function withCounts(members: string[], counts: string[], leftOut: number): string[] {
  const out: string[] = [];
  const placed = new Set<string>();
  if (leftOut > 0) {
    const at = members.findIndex((member) => memberKey(member) === "dropped_events");
    const shim = at < 0 ? 0 : Number(JSON.parse(members[at].slice(members[at].indexOf(":") + 1)));
    const member = `"dropped_events":${(Number.isFinite(shim) ? shim : 0) + leftOut}`;
    if (at < 0) members = [...members, member];
    else members = members.with(at, member);
  }
  for (const member of members) {
    const key = memberKey(member);
    const count = counts.find((text) => memberKey(text) === key);
    if (count !== undefined && !placed.has(key)) {
      out.push(count);
      placed.add(key);
    } else if (count === undefined && key !== "first_ts") {
      out.push(member);
    }
  }
  return [...out, ...counts.filter((text) => !placed.has(memberKey(text)))];
}

/** The `"key":value` members of a JSON object's text (valid JSON), each as its text. */
function objectMembers(text: string): string[] {
  const members: string[] = [];
  const take = (member: string) => {
    if (member.trim() !== "") members.push(member.trim());
  };
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; text[i] !== '"'; i++) if (text[i] === "\\") i++;
    } else if (c === "{" || c === "[") {
      if (depth++ === 0) from = i + 1;
    } else if (c === "}" || c === "]") {
      if (--depth === 0) take(text.slice(from, i));
    } else if (c === "," && depth === 1) {
      take(text.slice(from, i));
      from = i + 1;
    }
  }
  return members;
}

/** The key of a `"key":value` member's text. */
function memberKey(member: string): string {
  return JSON.parse(/^"(?:[^"\\]|\\.)*"/.exec(member)![0]);
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
