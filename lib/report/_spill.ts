/**
 * Scratch files for a report bigger than the writer keeps in memory (lib/report/_slices.ts,
 * lib/report/_columns.ts): each is created exclusively (mode 0600) in the temp folder and unlinked
 * at once, so it is private, lives only as long as its descriptor, and is gone on every exit path,
 * a SIGKILL included.
 * @module
 */
import { reasonOf, TracerError } from "../errors.ts";

/** An append-only scratch file, read back at offsets. */
export class SpillFile {
  #file: Deno.FsFile;
  #size = 0;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** A new, already unlinked, scratch file in the temp folder (TMPDIR). */
  static create(): SpillFile {
    let path: string | undefined;
    try {
      path = Deno.makeTempFileSync({ prefix: "tracer-report-" });
      const file = Deno.openSync(path, { read: true, write: true });
      return new SpillFile(file);
    } catch (error) {
      throw spillError(error);
    } finally {
      if (path !== undefined) Deno.removeSync(path);
    }
  }

  /** Bytes appended so far. */
  get size(): number {
    return this.#size;
  }

  /** Appends `bytes`; returns the offset they start at. */
  append(bytes: Uint8Array): number {
    const at = this.#size;
    try {
      this.#file.seekSync(at, Deno.SeekMode.Start);
      for (let done = 0; done < bytes.length;) done += this.#file.writeSync(bytes.subarray(done));
    } catch (error) {
      throw spillError(error);
    }
    this.#size += bytes.length;
    return at;
  }

  /** Fills `into` with the bytes at `offset` (they must have been appended). */
  readAt(offset: number, into: Uint8Array): void {
    if (offset + into.length > this.#size) throw new RangeError("read past the spilled bytes");
    try {
      this.#file.seekSync(offset, Deno.SeekMode.Start);
      for (let done = 0; done < into.length;) {
        const read = this.#file.readSync(into.subarray(done));
        if (read === null) throw new Error("the scratch file ended early");
        done += read;
      }
    } catch (error) {
      throw spillError(error);
    }
  }

  /** Closes the descriptor: the file's space is freed. */
  close(): void {
    try {
      this.#file.close();
    } catch { /* already closed */ }
  }
}

function spillError(error: unknown): TracerError {
  if (error instanceof TracerError) return error;
  return new TracerError(
    `cannot keep the report's data in a scratch file in the temp folder: ${reasonOf(error)}; ` +
      `free space there or set TMPDIR to a folder that has it`,
    { cause: error },
  );
}
