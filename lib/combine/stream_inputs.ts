/**
 * Combine inputs that are not regular files (a pipe, `<(cat t.json)`, `/dev/stdin`, a named FIFO):
 * combine reads a file more than once (its ends, a first pass, the events), which a stream cannot
 * give, so each is read exactly once, streaming, into a private temp copy of bounded size.
 * @module
 */
import { basename, join } from "node:path";
import { reasonOf, shortened, UsageError } from "../errors.ts";

/** The largest stream input copied (bytes as read, compressed or not): 16 GiB. */
export const MAX_STREAM_INPUT_BYTES = 16 * 1024 ** 3;

/** The inputs with each stream replaced by its copy, and the copies' original names. */
export interface CopiedInputs {
  paths: string[];
  /** Copy path -> the input as given, to name it in messages. */
  originals: Map<string, string>;
}

/**
 * Copies every input that is not a regular file into `makeDir()` (called once, when the first
 * stream is met); throws a `UsageError` naming an input past `limit` bytes or unreadable. When
 * `stop` aborts (a signal: a FIFO nobody writes to waits forever), throws `stop.reason`.
 */
export async function copyStreamInputs(
  paths: readonly string[],
  makeDir: () => Promise<string>,
  options: { limit?: number; stop?: AbortSignal } = {},
): Promise<CopiedInputs> {
  const originals = new Map<string, string>();
  const out: string[] = [];
  let dir: string | null = null;
  for (const [index, path] of paths.entries()) {
    const stat = await Deno.stat(path).catch(() => null);
    if (stat === null || stat.isFile || stat.isDirectory) {
      out.push(path);
      continue;
    }
    dir ??= await makeDir();
    const copy = join(dir, `${index}_${basename(path) || "input"}`);
    await copyOnce(path, copy, options.limit ?? MAX_STREAM_INPUT_BYTES, options.stop);
    options.stop?.throwIfAborted();
    originals.set(copy, path);
    out.push(copy);
  }
  return { paths: out, originals };
}

async function copyOnce(
  path: string,
  copy: string,
  limit: number,
  stop: AbortSignal | undefined,
): Promise<void> {
  const what = `input ${shortened(path)}`;
  stop?.throwIfAborted();
  let input: Deno.FsFile;
  // Opening a FIFO waits for a writer, and an open cannot be cancelled: on a signal, tracer
  // opens it for writing itself, which ends the wait (the read then sees the end at once).
  const unblock = () => Deno.open(path, { write: true }).then((file) => file.close(), () => {});
  stop?.addEventListener("abort", unblock);
  try {
    input = await Deno.open(path, { read: true });
  } catch (error) {
    throw new UsageError(`cannot read ${what}: ${reasonOf(error)}; check the path`, {
      cause: error,
    });
  } finally {
    stop?.removeEventListener("abort", unblock);
  }
  using output = await Deno.open(copy, { write: true, createNew: true, mode: 0o600 });
  // Closing the input ends a read that waits on the stream.
  let closed = false;
  const close = () => {
    if (!closed) input.close();
    closed = true;
  };
  stop?.addEventListener("abort", close);
  const buffer = new Uint8Array(1 << 20);
  let bytes = 0;
  try {
    while (true) {
      const count = await input.read(buffer);
      if (count === null) break;
      bytes += count;
      if (bytes > limit) {
        throw new UsageError(
          `${what} is a stream of more than ${
            limit / 1024 ** 3
          } GiB, more than tracer copies; save it to a file and combine that`,
        );
      }
      let offset = 0;
      while (offset < count) offset += await output.write(buffer.subarray(offset, count));
    }
  } catch (error) {
    if (stop?.aborted) throw stop.reason;
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${what}: ${reasonOf(error)}`, { cause: error });
  } finally {
    stop?.removeEventListener("abort", close);
    close();
  }
}
