/**
 * A flight recorder snapshot (`--flight S`, SIGUSR2 to tracer) of the run's raw files while their
 * processes run on: each file is copied as it is, then made a consistent file of a process that
 * ended at the snapshot (docs/internals.md, 2a, "Flight recorder"). The processes do nothing for
 * it.
 *
 * While a file is copied its writer goes on: appended records and counts stored after their data
 * are safe to read at any instant (2a), but an events or values block may be recycled while it is
 * copied, so that its copy mixes two owners' calls. The writer renumbers a block (its head's three
 * spare bytes) after resetting it and before its new owner stores anything, and the copy reads a
 * block's head before its payload; so a block whose number in the live file differs, once the
 * copy is done, from the number in the copy is one that may be mixed: its copy keeps no calls.
 * Then the copy gets an end record at the snapshot's moment (unless its process had already
 * ended), where its open calls end.
 * @module
 */
import { join } from "node:path";
import { RAW_MAGIC, RecordKind } from "./records.ts";

const HEAD_BYTES = 8;
const RAW_NAME = /^result_\d+(?:_\d+)?\.raw$/;

/** What a snapshot copied. */
export interface SnapshotCopies {
  /** Raw files copied. */
  files: number;
  /** Blocks recycled while they were copied (their calls are left out). */
  recycled: number;
}

/**
 * Copies every raw file of `dataDir` into `intoDir` (which exists and is empty) as it is now,
 * each made consistent and ended at the snapshot's moment.
 */
export async function snapshotRawFiles(dataDir: string, intoDir: string): Promise<SnapshotCopies> {
  // The moment of the snapshot, on the wall clock: each process's header has the offset to its
  // monotonic clock (the one its events are on).
  const epochNs = (performance.timeOrigin + performance.now()) * 1e6;
  const copies: SnapshotCopies = { files: 0, recycled: 0 };
  for await (const entry of Deno.readDir(dataDir)) {
    if (!entry.isFile || !RAW_NAME.test(entry.name)) continue;
    const path = join(dataDir, entry.name);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch {
      continue; // gone meanwhile (a run dir is never shared): nothing to copy
    }
    const copy = await consistentCopy(bytes, path, epochNs);
    copies.recycled += copy.recycled;
    await Deno.writeFile(join(intoDir, entry.name), copy.bytes, { createNew: true, mode: 0o600 });
    copies.files++;
  }
  return copies;
}

/** A copy's bytes made consistent (see the module doc), ended at `epochNs` unless it has an end. */
async function consistentCopy(
  bytes: Uint8Array,
  livePath: string,
  epochNs: number,
): Promise<{ bytes: Uint8Array; recycled: number }> {
  const walk = walkRecords(bytes);
  let recycled = 0;
  if (walk.blocks.length > 0) {
    using live = await Deno.open(livePath, { read: true });
    const head = new Uint8Array(HEAD_BYTES);
    for (const at of walk.blocks) {
      await live.seek(at, Deno.SeekMode.Start);
      if (await live.read(head) !== HEAD_BYTES) continue; // cut meanwhile: it ended well
      if (head[1] === bytes[at + 1] && head[2] === bytes[at + 2] && head[3] === bytes[at + 3]) {
        continue;
      }
      bytes.fill(0, at + HEAD_BYTES + 8, at + HEAD_BYTES + 16); // no calls (count, bytes used)
      recycled++;
    }
  }
  const data = bytes.subarray(0, walk.dataEnd);
  if (walk.ended || walk.header === undefined) return { bytes: data, recycled };
  const end = new TextEncoder().encode(JSON.stringify({
    exit: "running (snapshot)",
    end_mono_ns: snapshotMonoNs(walk.header, epochNs),
  }));
  const out = new Uint8Array(walk.dataEnd + HEAD_BYTES + Math.ceil(end.length / 8) * 8);
  out.set(data);
  out[walk.dataEnd] = RecordKind.end;
  new DataView(out.buffer).setUint32(walk.dataEnd + 4, end.length, true);
  out.set(end, walk.dataEnd + HEAD_BYTES);
  return { bytes: out, recycled };
}

/**
 * The snapshot's moment on the process's monotonic clock, from its header's clock pair; 0 when
 * the header has none (the reader then ends the file at its latest clock).
 */
function snapshotMonoNs(headerText: string, epochNs: number): number {
  try {
    const clock = (JSON.parse(headerText) as { clock?: { epoch_ns?: unknown; mono_ns?: unknown } })
      .clock;
    if (typeof clock?.epoch_ns !== "number" || typeof clock.mono_ns !== "number") return 0;
    return Math.round(epochNs - (clock.epoch_ns - clock.mono_ns));
  } catch {
    return 0;
  }
}

/**
 * The records of a copy: the header's text, the offsets of its events and values blocks, whether
 * it has its end record, and where its data ends (a zero kind byte, or a record cut off by the
 * end of the copy).
 */
function walkRecords(
  bytes: Uint8Array,
): { header: string | undefined; blocks: number[]; ended: boolean; dataEnd: number } {
  const found = { header: undefined as string | undefined, blocks: [] as number[], ended: false };
  const magic = new TextDecoder().decode(bytes.subarray(0, RAW_MAGIC.length));
  if (magic !== RAW_MAGIC) return { ...found, dataEnd: 0 };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = RAW_MAGIC.length;
  while (at + HEAD_BYTES <= bytes.length && bytes[at] !== 0) {
    const kind = bytes[at];
    const size = view.getUint32(at + 4, true);
    if (at + HEAD_BYTES + size > bytes.length) break;
    if (kind === RecordKind.header && found.header === undefined) {
      found.header = new TextDecoder().decode(
        bytes.subarray(at + HEAD_BYTES, at + HEAD_BYTES + size),
      );
    } else if (kind === RecordKind.events || kind === RecordKind.values) {
      found.blocks.push(at);
    } else if (kind === RecordKind.end) {
      found.ended = true;
    }
    at += Math.ceil((HEAD_BYTES + size) / 8) * 8;
  }
  return { ...found, dataEnd: Math.min(at, bytes.length) };
}
