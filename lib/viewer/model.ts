/**
 * The viewer's in-memory model: decoded from the report bytes into typed arrays per track, with
 * per-depth indexes (for drawing by binary search) and self times. Pure: no DOM.
 * @module
 */
import { concatBytes } from "../bytes/concat.ts";
import {
  FLAG_ARGS,
  type FlowKind,
  MAGIC,
  type ProcessInfo,
  type ReportHeader,
  type TrackInfo,
  VarintReader,
} from "../report_format.ts";

/** One thread's slices, sorted by start; times in ticks from the trace origin. */
export interface Track {
  info: TrackInfo;
  index: number;
  process: ProcessInfo;
  start: Float64Array;
  dur: Float64Array;
  self: Float64Array;
  depth: Uint16Array;
  name: Uint32Array;
  cat: Uint32Array;
  flags: Uint8Array;
  /** Slice index -> string id of its args JSON. */
  args: Map<number, number>;
  /** Per depth: slice indexes in start order (slices of one depth never overlap). */
  levels: Uint32Array[];
  /** Index of the parent slice, -1 at depth 0. */
  parent: Int32Array;
  /** Indexes into `header.instants` of this track's instants, in time order. */
  instants: Uint32Array;
}

/** A process with its tracks in display order. */
export interface ProcessModel {
  info: ProcessInfo;
  tracks: Track[];
  unfinished: number;
  /** Depth in the process tree (0: no traced parent). */
  treeDepth: number;
}

/** One end of a flow arrow: a slice of a track. */
export interface ArrowEnd {
  track: Track;
  slice: number;
}

/** One flow arrow between two slices (flows.ts resolves them). */
export interface Arrow {
  kind: FlowKind;
  name: string;
  from: ArrowEnd;
  to: ArrowEnd;
}

/** The whole decoded report. */
export interface Model {
  header: ReportHeader;
  strings: string[];
  /** In display order: the process tree, parents first, after `openModel` (tree.ts). */
  processes: ProcessModel[];
  /** In header order (instants and flows refer to these indexes). */
  tracks: Track[];
  /** The flow arrows resolved to slices, after `openModel` (flows.ts). */
  arrows: Arrow[];
  /** Duration of the trace in ticks (origin is 0). */
  duration: number;
  slices: number;
}

/** Decodes the uncompressed report bytes (lib/report_format.ts) into a model. */
export function decodeModel(bytes: Uint8Array): Model {
  const reader = new VarintReader(bytes);
  const header = readHeader(bytes, reader);
  const processByPid = new Map<string, ProcessModel>();
  for (const info of header.processes) {
    processByPid.set(String(info.pid), { info, tracks: [], unfinished: 0, treeDepth: 0 });
  }
  const tracks = header.tracks.map((info, index) =>
    emptyTrack(info, index, processByPid.get(String(info.pid))!.info)
  );
  readColumns(bytes, reader, tracks);
  let slices = 0;
  for (const track of tracks) {
    indexTrack(track);
    slices += track.info.count;
    const process = processByPid.get(String(track.info.pid))!;
    process.tracks.push(track);
    for (let k = 0; k < track.flags.length; k++) if (track.flags[k] & 1) process.unfinished++;
  }
  fromOrigin(header);
  indexInstants(header, tracks);
  const sorted = [...processByPid.values()];
  for (const process of sorted) {
    process.tracks.sort((a, b) =>
      a.info.sortIndex - b.info.sortIndex || compareIds(a.info.tid, b.info.tid)
    );
  }
  sorted.sort((a, b) => a.info.sortIndex - b.info.sortIndex || compareIds(a.info.pid, b.info.pid));
  return {
    header,
    strings: header.strings,
    processes: sorted,
    tracks,
    arrows: [],
    duration: Math.max(0, header.end - header.origin),
    slices,
  };
}

/** The magic and the JSON header; leaves `reader` after it. */
function readHeader(bytes: Uint8Array, reader: VarintReader): ReportHeader {
  for (let i = 0; i < MAGIC.length; i++) {
    if (reader.read() !== MAGIC.charCodeAt(i)) throw new Error("not tracer report data");
  }
  const headerLength = reader.read();
  const header = JSON.parse(
    new TextDecoder().decode(bytes.subarray(reader.offset, reader.offset + headerLength)),
  ) as ReportHeader;
  reader.offset += headerLength;
  return header;
}

function emptyTrack(info: TrackInfo, index: number, process: ProcessInfo): Track {
  const n = info.count;
  return {
    info,
    index,
    process,
    start: new Float64Array(n),
    dur: new Float64Array(n),
    self: new Float64Array(n),
    depth: new Uint16Array(n),
    name: new Uint32Array(n),
    cat: new Uint32Array(n),
    flags: new Uint8Array(n),
    args: new Map(),
    levels: [],
    parent: new Int32Array(n),
    instants: new Uint32Array(0),
  };
}

/** Each track's instants (indexes into `header.instants`), in time order. */
function indexInstants(header: ReportHeader, tracks: Track[]): void {
  const byTrack = new Map<number, number[]>();
  header.instants.forEach((instant, i) => {
    const list = byTrack.get(instant[0]);
    if (list) list.push(i);
    else byTrack.set(instant[0], [i]);
  });
  for (const [index, list] of byTrack) {
    const track = tracks[index];
    if (!track) continue;
    list.sort((a, b) => header.instants[a][1] - header.instants[b][1] || a - b);
    track.instants = Uint32Array.from(list);
  }
}

/** Synthetic tids from here up are an asyncio task's pseudo-thread (a real tid never is). */
export const TASK_TID_BASE = 2 ** 30;

/**
 * True for an asyncio task's row: a pseudo-thread (tid at or above `TASK_TID_BASE`) named after
 * its task (`Task-3 fetch()`). The traced process orders these right after their event loop's
 * thread (`thread_sort_index`).
 */
export function isTaskTrack(track: Track): boolean {
  const { tid, name } = track.info;
  return typeof tid === "number" && tid >= TASK_TID_BASE && name !== "";
}

/** The slice columns, column by column over all tracks, then the args ids of flagged slices. */
function readColumns(bytes: Uint8Array, reader: VarintReader, tracks: Track[]): void {
  let offset = reader.offset;
  for (const track of tracks) offset = readColumn(bytes, offset, track.start, true);
  for (const track of tracks) offset = readColumn(bytes, offset, track.dur, false);
  for (const track of tracks) offset = readColumn(bytes, offset, track.depth, false);
  for (const track of tracks) offset = readColumn(bytes, offset, track.name, false);
  for (const track of tracks) offset = readColumn(bytes, offset, track.cat, false);
  for (const track of tracks) offset = readColumn(bytes, offset, track.flags, false);
  reader.offset = offset;
  for (const track of tracks) {
    for (let k = 0; k < track.flags.length; k++) {
      if (track.flags[k] & FLAG_ARGS) track.args.set(k, reader.read());
    }
  }
}

/** Moves the header's instants, counters and flows to ticks from the trace origin. */
function fromOrigin(header: ReportHeader): void {
  const origin = header.origin;
  for (const instant of header.instants) instant[1] -= origin;
  for (const series of header.counters) {
    for (let i = 0; i < series.points.length; i += 2) series.points[i] -= origin;
  }
  for (const flow of header.flows) for (const step of flow.steps) step[1] -= origin;
}

type Column = Float64Array | Uint32Array | Uint16Array | Uint8Array;

/** Reads `out.length` varints from `offset` (running sums when `delta`); returns the new offset. */
function readColumn(bytes: Uint8Array, offset: number, out: Column, delta: boolean): number {
  let sum = 0;
  const n = out.length;
  for (let k = 0; k < n; k++) {
    let byte = bytes[offset++];
    let value = byte & 0x7f;
    let scale = 0x80;
    while (byte >= 0x80) {
      if (offset >= bytes.length) throw new Error("report data is truncated");
      byte = bytes[offset++];
      value += (byte & 0x7f) * scale;
      scale *= 0x80;
    }
    if (delta) value = sum += value;
    out[k] = value;
  }
  return offset;
}

function compareIds(a: number | string, b: number | string): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/** Builds the per-depth indexes, parents and self times of a track. */
export function indexTrack(track: Track): void {
  const { depth, dur, self, parent } = track;
  const n = depth.length;
  const counts: number[] = [];
  const last: number[] = [];
  for (let k = 0; k < n; k++) {
    const d = depth[k];
    counts[d] = (counts[d] ?? 0) + 1;
    self[k] = dur[k];
    const p = d > 0 ? last[d - 1] ?? -1 : -1;
    parent[k] = p;
    if (p >= 0) self[p] -= dur[k];
    last[d] = k;
  }
  const levels = counts.map((count) => new Uint32Array(count ?? 0));
  const fill = new Array<number>(levels.length).fill(0);
  for (let k = 0; k < n; k++) levels[depth[k]][fill[depth[k]]++] = k;
  for (let k = 0; k < n; k++) if (self[k] < 0) self[k] = 0;
  track.levels = levels;
}

/** Decompresses base64 chunks of gzip data into one byte array. */
export async function inflateBase64(chunks: Iterable<string>): Promise<Uint8Array> {
  const stream = new DecompressionStream("gzip");
  const writer = stream.writable.getWriter();
  const writing = (async () => {
    try {
      for (const chunk of chunks) {
        await writer.write(decodeBase64(chunk) as Uint8Array<ArrayBuffer>);
      }
      await writer.close();
    } catch (error) {
      // Error the readable side too, so the read loop below fails instead of waiting forever.
      await writer.abort(error).catch(() => {});
      throw error;
    }
  })();
  // The read loop reports the same failure; without this it is also an unhandled rejection.
  writing.catch(() => {});
  const parts: Uint8Array[] = [];
  const reader = stream.readable.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  await writing;
  return concatBytes(parts);
}

function decodeBase64(text: string): Uint8Array {
  const from = (Uint8Array as unknown as { fromBase64?: (text: string) => Uint8Array }).fromBase64;
  if (from) return from(text.trim());
  const binary = atob(text.trim());
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
