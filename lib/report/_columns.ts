/**
 * One column of the report's slice data (lib/report_format.ts) as it is built: varints gathered in
 * chunks, which past `limit` bytes go to a scratch file (lib/report/_spill.ts), so a column of
 * many millions of slices costs no more memory than one of a few.
 * @module
 */
import { VarintWriter } from "../report_format.ts";
import { SpillFile } from "./_spill.ts";

/** Bytes a column keeps in memory before it moves them to its scratch file. */
export const COLUMN_LIMIT = 1 << 18;

/** Bytes read back from the scratch file at once. */
const READ_BYTES = 1 << 16;

/** A column of varints, written once in order and then read out once. */
export class ColumnSink {
  #out = new VarintWriter();
  #chunks: Uint8Array[] = [];
  #chunkBytes = 0;
  #file: SpillFile | undefined;

  /** A column that keeps up to `limit` bytes in memory. */
  constructor(readonly limit: number = COLUMN_LIMIT) {}

  /** Appends one non-negative integer. */
  write(value: number): void {
    this.#out.write(value);
    if (this.#out.full) this.#take();
  }

  #take() {
    const chunk = this.#out.take();
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#chunkBytes += chunk.length;
    if (this.#chunkBytes < this.limit) return;
    this.#file ??= SpillFile.create();
    for (const held of this.#chunks) this.#file.append(held);
    this.#chunks = [];
    this.#chunkBytes = 0;
  }

  /** The column's bytes, in chunks of at most 64 KiB; then it is empty (and its file freed). */
  *drain(): Generator<Uint8Array> {
    this.#take();
    const file = this.#file;
    if (file !== undefined) {
      for (let at = 0; at < file.size; at += READ_BYTES) {
        const chunk = new Uint8Array(Math.min(READ_BYTES, file.size - at));
        file.readAt(at, chunk);
        yield chunk;
      }
      file.close();
      this.#file = undefined;
    }
    yield* this.#chunks;
    this.#chunks = [];
    this.#chunkBytes = 0;
  }

  /** Frees the scratch file, if any (after a failure: `drain` frees it otherwise). */
  close(): void {
    this.#file?.close();
  }
}
