/**
 * The file metadata tracer reads, typed and read in one place: a tracer per-process file's
 * `otherData` (written at process start) and `tracerEnd` (at its end), and the `sources` records of
 * a combined file (docs/internals.md, section 2b). The metadata itself travels as parsed JSON and
 * is copied into the output unchanged; these readers say what tracer takes from it.
 * No Deno APIs here: the report encoder and combine share it.
 * @module
 */

/** A parsed JSON object. */
export type JsonObject = Record<string, unknown>;

/** What tracer reads of a file's `otherData`. */
export interface TracerStart {
  /** `tracer_version`: a number on tracer's own per-process files. */
  version?: number;
  /** `pid`, when it is a number or a string. */
  pid?: number | string;
  /** `argv`, when it is a list. */
  argv?: unknown[];
  /** `host`, "" when absent or not a string. */
  host: string;
  /** `boot_id`, "" when absent. */
  bootId: string;
  /** Wall clock minus monotonic clock in microseconds (from `clock`), when the file has a clock. */
  wallOffsetUs?: number;
  /** `exec_of`: the file of the process this one continues after `exec`. */
  execOf?: string;
  /** `parent_pid`: the traced process that started this one, as this one knows it. */
  parentPid?: number;
  /** `launch`: how it was started (`fork`, `spawn`, `forkserver`, `subprocess`, `exec`). */
  launch?: string;
}

/** What tracer reads of a file's `tracerEnd`. */
export interface TracerEnd {
  /** `first_ts`: the earliest `ts` of the file's X events, when finite. */
  firstTs?: number;
  /** `events`: events recorded and written. */
  events?: number;
  /** `dropped_events`: past the cap or lost (0 when absent). */
  droppedEvents: number;
  /** `truncated_bytes`: bytes of a cut-off last record (0 when absent). */
  truncatedBytes: number;
  /** `exit`: how the process ended (`exit`, `os._exit`, `signal:SIGTERM`, `killed`, ...). */
  exit?: string;
  /** The end is no trouble (NORMAL_EXITS, or `normal_end`: a pool worker its pool ended). */
  normalEnd: boolean;
  /** `lost`: why recording stopped early (a full disk, ...), when it did. */
  lost?: string;
  /** `deepest_stack`: the most calls open at once in one thread, when the file says. */
  deepestStack?: number;
}

/** One record of a combined file's `sources`: an input file and its top-level metadata. */
export interface SourceRecord extends JsonObject {
  /** The input file. */
  file?: string;
  /** Its `otherData`, for a tracer per-process file. */
  otherData?: unknown;
  /** Its `tracerEnd`; absent when the process died without it. */
  tracerEnd?: unknown;
  /** Original pid (JSON text) -> the pid it was given, when combine moved its pids (the first 1000). */
  pid_map?: Record<string, number>;
  /** How many moved pids `pid_map` leaves out (their `process_labels` events still name them). */
  pid_map_left_out?: number;
}

/** True for a JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const number = (value: unknown) => typeof value === "number" ? value : undefined;
const text = (value: unknown) => typeof value === "string" ? value : undefined;

/** Reads a file's `otherData` (anything: fields of the wrong type count as absent). */
export function readStart(otherData: unknown): TracerStart {
  const other = isJsonObject(otherData) ? otherData : {};
  const clock = isJsonObject(other.clock) ? other.clock : {};
  const epochNs = number(clock.epoch_ns);
  const monoNs = number(clock.mono_ns);
  const pid = other.pid;
  return {
    version: number(other.tracer_version),
    pid: typeof pid === "number" || typeof pid === "string" ? pid : undefined,
    argv: Array.isArray(other.argv) ? other.argv : undefined,
    host: text(other.host) ?? "",
    bootId: String(other.boot_id ?? ""),
    wallOffsetUs: epochNs !== undefined && monoNs !== undefined
      ? (epochNs - monoNs) / 1000
      : undefined,
    execOf: text(other.exec_of),
    parentPid: number(other.parent_pid),
    launch: text(other.launch),
  };
}

/**
 * Ends that are no trouble: a normal exit, a detach (tracer attach), a process still running at
 * a flight snapshot. A pool worker ended by its pool's SIGTERM says `normal_end` itself.
 */
const NORMAL_EXITS = new Set(["exit", "detached", "running (snapshot)"]);

/** Reads a file's `tracerEnd`; undefined when it has none (it is not a JSON object). */
export function readEnd(tracerEnd: unknown): TracerEnd | undefined {
  if (!isJsonObject(tracerEnd)) return undefined;
  const firstTs = number(tracerEnd.first_ts);
  return {
    firstTs: firstTs !== undefined && Number.isFinite(firstTs) ? firstTs : undefined,
    events: number(tracerEnd.events),
    droppedEvents: number(tracerEnd.dropped_events) ?? 0,
    truncatedBytes: number(tracerEnd.truncated_bytes) ?? 0,
    exit: text(tracerEnd.exit),
    normalEnd: tracerEnd.normal_end === true || NORMAL_EXITS.has(text(tracerEnd.exit) ?? ""),
    lost: text(tracerEnd.lost),
    deepestStack: number(tracerEnd.deepest_stack),
  };
}

/** The `sources` records of combined metadata, [] when it has none. */
export function sourceRecords(metadata: JsonObject): SourceRecord[] {
  return Array.isArray(metadata.sources) ? metadata.sources.filter(isJsonObject) : [];
}

/** True for the `otherData` of a file tracer's combine wrote (`tracer_combine`). */
export function isCombined(otherData: unknown): otherData is JsonObject {
  return isJsonObject(otherData) && otherData.tracer_combine === 1;
}
