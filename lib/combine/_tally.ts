/**
 * The counts and warnings a combine keeps while its events are read.
 * @module
 */
import { TracerError } from "../errors.ts";
import type { TraceFileInfo } from "./_json_scanner.ts";
import type { CombineStats, TraceWarning } from "../trace_event.ts";

/** Counts and warnings the second pass adds for files placed without a first pass. */
export class Tally {
  /** Final once the second pass is done. */
  readonly stats: CombineStats;
  #warnings: TraceWarning[];
  #metadata: Record<string, unknown>;
  #threads: Set<string>;
  #strict: boolean;

  /** Continues the counts of the first pass. */
  constructor(
    state: {
      stats: CombineStats;
      warnings: TraceWarning[];
      metadata: Record<string, unknown>;
      threads: Set<string>;
      strict: boolean;
    },
  ) {
    this.stats = state.stats;
    this.#warnings = state.warnings;
    this.#metadata = state.metadata;
    this.#threads = state.threads;
    this.#strict = state.strict;
  }

  /** Records a thread (pid and tid as JSON text, the pid already remapped). */
  thread(pid: string, tid: string): void {
    this.#threads.add(`${pid} ${tid}`);
    this.stats.threads = this.#threads.size;
  }

  /** After the second pass of a file no first pass read: reports the damage it found. */
  lateDamage(path: string, info: TraceFileInfo): void {
    if (info.damage === undefined) return;
    if (this.#strict) throw strictError(path, info.damage);
    this.#warnings.push({ source: path, message: info.damage });
    this.#metadata.warnings = this.#warnings;
    if (info.truncated) this.stats.salvagedFiles++;
  }
}

/** The error `--strict` raises for a damaged input. */
export function strictError(path: string, damage: string): TracerError {
  return new TracerError(`${path}: ${damage} (--strict refuses damaged input)`);
}
