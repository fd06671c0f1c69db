/**
 * The output's metadata (`otherData.sources`: one record per input file) has a size budget, so
 * that many inputs each carrying a large metadata value (each under the scanner's 16 MiB limit)
 * cannot make it a string too long to write (V8 strings stop at 512 MiB) nor hold the memory.
 * @module
 */

/** The most UTF-16 units of JSON text the sources' records may take together. */
export const SOURCES_BUDGET = 64 << 20;

/** A string value longer than this is replaced by a note in a record cut to fit the budget. */
export const KEPT_STRING = 1024;

/**
 * Keeps metadata records whole while they fit the budget; a record that would go past it has its
 * long strings replaced by a note saying how long they were, and when even that does not fit,
 * only its `file` is kept (with `metadata_left_out`). Applied to each input as it is probed, so
 * what is cut is not held either.
 */
export class MetadataBudget {
  #used = 0;
  /** How many records were cut or left out. */
  cut = 0;

  constructor(private readonly budget = SOURCES_BUDGET) {}

  /** `record` as it fits what is left of the budget. */
  fit<T extends Record<string, unknown>>(record: T): T {
    let size = JSON.stringify(record).length;
    if (this.#used + size <= this.budget) {
      this.#used += size;
      return record;
    }
    this.cut++;
    let kept = shortStrings(record) as Record<string, unknown>;
    size = JSON.stringify(kept).length;
    if (this.#used + size > this.budget) {
      kept = { file: shortStrings(record.file), metadata_left_out: true };
      size = JSON.stringify(kept).length;
    }
    this.#used += size;
    return kept as T;
  }
}

/** `value` with every string longer than KEPT_STRING (keys too) replaced by a note. */
function shortStrings(value: unknown): unknown {
  if (typeof value === "string") return short(value);
  if (Array.isArray(value)) return value.map(shortStrings);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [short(key), shortStrings(item)]),
    );
  }
  return value;
}

function short(text: string): string {
  return text.length <= KEPT_STRING ? text : `(${text.length} characters left out)`;
}
