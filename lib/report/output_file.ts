/**
 * Writing an output file safely: bytes go to a temp file beside the target, created exclusively
 * under an unpredictable name (so a planted symlink or file is never followed or truncated), which
 * is renamed over the target only when complete, so a failed write never destroys an earlier file.
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { reasonOf, shortened, TracerError, UsageError } from "../errors.ts";

/** What a committed output replaced: nothing, a file, or a symbolic link (not its target). */
export type Replaced = "file" | "symlink" | null;

/** What a writer reports once its file is in place. */
export interface Written {
  bytes: number;
  replaced: Replaced;
  /** Events the report could not show, by phase (`{ X: 2 }`); the JSON writers skip none. */
  skipped?: Record<string, number>;
}

/** An output file being written; `commit` makes it visible under its final name. */
export interface OutputFile {
  /** Where the bytes go; closed by `commit` and `abort`. */
  writable: WritableStream<Uint8Array>;
  /** Closes the stream and renames the temp file to the target; returns the size in bytes. */
  commit(): Promise<{ bytes: number; replaced: Replaced }>;
  /** Removes the temp file after a failure; the target is untouched. */
  abort(): Promise<void>;
}

/** Opens a temp file beside `path`; throws a `TracerError` naming the path if it cannot. */
export async function openOutput(path: string): Promise<OutputFile> {
  // O_CREAT|O_EXCL: never through a symlink, never into a file someone else created.
  const temp = tempName(path);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
  } catch (error) {
    throw new TracerError(
      `cannot write output file ${shortened(path)}: ${
        reasonOf(error)
      }; choose another path with -o`,
      { cause: error },
    );
  }
  let bytes = 0;
  let closed = false;
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      let offset = 0;
      while (offset < chunk.length) offset += await file.write(chunk.subarray(offset));
      bytes += chunk.length;
    },
    close() {
      closed = true;
      file.close();
    },
  });
  return {
    writable,
    async commit() {
      if (!closed) await writable.close();
      const replaced = await existing(path);
      try {
        await Deno.rename(temp, path);
      } catch (error) {
        throw new TracerError(
          `cannot write output file ${shortened(path)}: ${reasonOf(error)}`,
          { cause: error },
        );
      }
      return { bytes, replaced };
    },
    async abort() {
      if (!closed) {
        closed = true;
        try {
          file.close();
        } catch { /* already closed by a failed stream */ }
      }
      await Deno.remove(temp).catch(() => {});
    },
  };
}

async function existing(path: string): Promise<Replaced> {
  try {
    return (await Deno.lstat(path)).isSymlink ? "symlink" : "file";
  } catch {
    return null;
  }
}

/**
 * A fresh name beside `path` for its temp file: hidden, random, and short enough for the file
 * system whatever the length of the target's name (which then fits too: it is checked first).
 */
function tempName(path: string): string {
  return join(dirname(path), `.${basename(path).slice(0, 180)}.${randomHex(16)}.tmp`);
}

/** `bytes` random bytes as hex: a name nobody can guess ahead. */
export function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/**
 * Resolves an output path against `outputDir` (created if missing) and checks, before any work,
 * that it can be written: its directory exists and takes new files, its name is one the file
 * system takes, and it is not a directory (else a `UsageError`). Returns the absolute path.
 */
export async function prepareOutputPath(path: string, outputDir: string | null): Promise<string> {
  const dir = outputDir === null ? Deno.cwd() : resolve(outputDir);
  if (outputDir !== null) await ensureDir(dir);
  const target = resolve(dir, path);
  const what = `cannot write output file ${shortened(target)}`;
  const existing = await Deno.stat(target).catch(() => null);
  if (existing?.isDirectory) {
    throw new UsageError(`${what}: it is a directory; choose another path with -o`);
  }
  await checkWritableDir(dirname(target), what);
  await checkName(target, what);
  return target;
}

/** Creates (exclusively) and removes a file of `target`'s name length beside it. */
async function checkName(target: string, what: string): Promise<void> {
  const probe = join(dirname(target), `.${randomHex(4)}${basename(target).slice(10)}`);
  try {
    (await Deno.open(probe, { write: true, createNew: true })).close();
    await Deno.remove(probe);
  } catch (error) {
    throw new UsageError(
      `${what}: ${reasonOf(error)}; choose another path with -o`,
      { cause: error },
    );
  }
}

/** Creates `dir` (and parents) if missing; throws a `UsageError` naming it if it cannot. */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (error) {
    throw new UsageError(
      `cannot create output directory ${shortened(dir)}: ${reasonOf(error)}`,
      { cause: error },
    );
  }
}

async function checkWritableDir(dir: string, what: string): Promise<void> {
  try {
    const probe = await Deno.makeTempFile({ dir, prefix: ".tracer_probe_" });
    await Deno.remove(probe);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? `directory ${shortened(dir)} does not exist`
      : reasonOf(error);
    throw new UsageError(`${what}: ${reason}; choose another path with -o or --output_dir`, {
      cause: error,
    });
  }
}

/** True for the error an aborted write throws (`AbortSignal.throwIfAborted`). */
export function stoppedBy(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}
