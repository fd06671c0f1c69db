/**
 * Writing an output file safely: bytes go to a private temp file beside the target, which is
 * renamed over the target only when complete, so a failed write never destroys an earlier file.
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { TracerError, UsageError } from "../errors.ts";

/** An output file being written; `commit` makes it visible under its final name. */
export interface OutputFile {
  /** Where the bytes go; closed by `commit` and `abort`. */
  writable: WritableStream<Uint8Array>;
  /** Closes the stream and renames the temp file to the target; returns the size in bytes. */
  commit(): Promise<{ bytes: number; replaced: boolean }>;
  /** Removes the temp file after a failure; the target is untouched. */
  abort(): Promise<void>;
}

/** Opens a temp file beside `path`; throws a `TracerError` naming the path if it cannot. */
export async function openOutput(path: string): Promise<OutputFile> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${Deno.pid}.tmp`);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(temp, { write: true, create: true, truncate: true, mode: 0o644 });
  } catch (error) {
    throw new TracerError(
      `cannot write output file ${path}: ${(error as Error).message}; choose another path with -o`,
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
      const replaced = await exists(path);
      try {
        await Deno.rename(temp, path);
      } catch (error) {
        throw new TracerError(`cannot write output file ${path}: ${(error as Error).message}`, {
          cause: error,
        });
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

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves an output path against `outputDir` (created if missing) and checks, before any work,
 * that its directory exists and takes new files (else a `UsageError`). Returns the absolute path.
 */
export async function prepareOutputPath(path: string, outputDir: string | null): Promise<string> {
  const dir = outputDir === null ? Deno.cwd() : resolve(outputDir);
  if (outputDir !== null) await ensureDir(dir);
  const target = resolve(dir, path);
  await checkWritableDir(dirname(target), `cannot write output file ${target}`);
  return target;
}

/** Creates `dir` (and parents) if missing; throws a `UsageError` naming it if it cannot. */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (error) {
    throw new UsageError(`cannot create output directory ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function checkWritableDir(dir: string, what: string): Promise<void> {
  try {
    const probe = await Deno.makeTempFile({ dir, prefix: ".tracer_probe_" });
    await Deno.remove(probe);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? `directory ${dir} does not exist`
      : (error as Error).message;
    throw new UsageError(`${what}: ${reason}; choose another path with -o or --output_dir`, {
      cause: error,
    });
  }
}
