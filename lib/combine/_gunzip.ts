/**
 * Gunzip for the passes over a `.gz` input, as `gzip -d` reads a file: every gzip member to the
 * end of the file (RFC 1952 lets a file hold several: `cat a.gz b.gz`, a log that was appended
 * to), and bytes after the last member that do not start another one ignored with a warning
 * ("trailing garbage ignored"), the members' data kept.
 * @module
 */
import { createGunzip } from "node:zlib";

/**
 * Thrown once all the data was handed out: the file ends in bytes that are not gzip data. The
 * reader takes it as a warning, not as damage that cuts the file.
 */
export class TrailingGarbage extends Error {
  constructor() {
    super("trailing garbage after the gzip data ignored");
  }
}

const READ_SIZE = 1 << 20;

/**
 * Compressed bytes fed to the decompressor at a time: gzip inflates up to ~1032 times, and the
 * next slice goes in only once all that the last one gave out was taken, so at most ~16 MiB of
 * output is ever held.
 */
const GZIP_SLICE = 16 << 10;

/**
 * The gunzipped bytes of `file` (`head`: its bytes read so far); closes `file`. Throws
 * {@linkcode TrailingGarbage} after the last of them when the file ends in garbage, a zlib error
 * (`code` `Z_...`) when the data is corrupt or cut.
 */
export async function* gunzip(
  file: Deno.FsFile,
  head: Uint8Array<ArrayBuffer>,
): AsyncGenerator<Uint8Array> {
  try {
    const first = yield* inflate(file, head, { skip: 0, oneByteFrom: Infinity });
    if (first.failure === undefined) return;
    if (!isTrailingGarbage(first.failure)) throw first.failure;
    // node:zlib reports the garbage from the write that ended the last member, and what that
    // write inflated is lost with it. Again from the start, the bytes already handed out
    // skipped: that slice is written a byte at a time, so the member ends in a write of its own.
    await file.seek(0, Deno.SeekMode.Start);
    const again = yield* inflate(file, new Uint8Array(0), {
      skip: first.handedOut,
      oneByteFrom: first.sliceStart,
    });
    if (again.failure !== undefined && !isTrailingGarbage(again.failure)) throw again.failure;
    throw new TrailingGarbage();
  } finally {
    file.close();
  }
}

/**
 * zlib's message for a member header that does not start with the gzip magic bytes. The file's
 * first member starts with them (it is read as gzip because it does): this is a later one, after
 * a complete member.
 */
function isTrailingGarbage(error: Error): boolean {
  return (error as { code?: unknown }).code === "Z_DATA_ERROR" &&
    error.message === "incorrect header check";
}

/** How a pass of `inflate` ended. */
interface Inflated {
  /** zlib's error, if it stopped on one. */
  failure?: Error;
  /** Output bytes handed out (after those skipped). */
  handedOut: number;
  /** Offset in the file of the last slice written. */
  sliceStart: number;
}

/**
 * One pass of the decompressor over `file`: its output past the first `skip` bytes, the slices
 * from file offset `oneByteFrom` on written a byte at a time.
 */
async function* inflate(
  file: Deno.FsFile,
  head: Uint8Array<ArrayBuffer>,
  options: { skip: number; oneByteFrom: number },
): AsyncGenerator<Uint8Array, Inflated> {
  const inflater = createGunzip();
  const out: Uint8Array[] = [];
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  inflater.on("data", (chunk: Uint8Array) => {
    out.push(chunk);
    notify();
  });
  inflater.on("error", (error: Error) => {
    failure = error;
    notify();
  });
  inflater.on("end", () => {
    ended = true;
    notify();
  });
  let pending: Uint8Array<ArrayBuffer> = head;
  const buffer = new Uint8Array(READ_SIZE);
  let input = true;
  let skip = options.skip;
  let handedOut = 0;
  let offset = 0;
  let sliceStart = 0;
  try {
    for (;;) {
      if (input && pending.length === 0) {
        const count = await file.read(buffer);
        if (count === null) {
          input = false;
          inflater.end();
        } else {
          pending = buffer.slice(0, count);
        }
      }
      if (input) {
        const size = offset >= options.oneByteFrom ? 1 : GZIP_SLICE;
        const slice = pending.subarray(0, size);
        pending = pending.subarray(size);
        sliceStart = offset;
        offset += slice.length;
        await new Promise<void>((resolve) => inflater.write(slice, () => resolve()));
      }
      while (out.length > 0) {
        let chunk = out.shift()!;
        if (skip >= chunk.length) {
          skip -= chunk.length;
          continue;
        }
        chunk = chunk.subarray(skip);
        skip = 0;
        handedOut += chunk.length;
        yield chunk;
      }
      if (failure !== undefined || ended) return { failure, handedOut, sliceStart };
      if (!input) await new Promise<void>((resolve) => wake = resolve);
    }
  } finally {
    inflater.destroy();
  }
}
