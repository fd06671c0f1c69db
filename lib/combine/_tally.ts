/**
 * The counts and warnings a combine keeps while its events are read.
 * @module
 */
import { TracerError } from "../errors.ts";
import type { TraceFileInfo } from "./_json_scanner.ts";
import type { CombineStats, TraceWarning } from "../trace_event.ts";
import { type Id, IdSet, ThreadSet } from "./_ids.ts";

/** Counts and warnings the second pass adds for files placed without a first pass. */
export class Tally {
  /** Final once the second pass is done. */
  readonly stats: CombineStats;
  #warnings: TraceWarning[];
  #metadata: Record<string, unknown>;
  /** What the first pass saw: read, never changed (they may be a source's own sets). */
  #processes: IdSet;
  #threads: ThreadSet;
  /** What the second pass saw beyond them. */
  #newProcesses = new IdSet();
  #newThreads = new ThreadSet();
  #strict: boolean;

  /** Continues the counts of the first pass (`stats` counts its `processes` and `threads`). */
  constructor(
    state: {
      stats: CombineStats;
      warnings: TraceWarning[];
      metadata: Record<string, unknown>;
      processes: IdSet;
      threads: ThreadSet;
      strict: boolean;
    },
  ) {
    this.stats = state.stats;
    this.#warnings = state.warnings;
    this.#metadata = state.metadata;
    this.#processes = state.processes;
    this.#threads = state.threads;
    this.#strict = state.strict;
  }

  /**
   * Records a thread (the pid already remapped), and its process: a file placed from its ends
   * names one pid, events of another may come in the middle.
   */
  thread(pid: Id, tid: Id): void {
    if (this.#threads.has(pid, tid) || !this.#newThreads.add(pid, tid)) return;
    this.stats.threads++;
    if (!this.#processes.has(pid) && this.#newProcesses.add(pid)) this.stats.processes++;
  }

  /** After the second pass of a file no first pass read: reports the damage it found. */
  lateDamage(path: string, info: TraceFileInfo): void {
    if (info.damage === undefined) return;
    if (this.#strict) throw strictError(path, info.damage);
    this.#warnings.push({ source: path, message: info.damage });
    this.#metadata.warnings = this.#warnings;
    if (info.truncated) this.stats.salvagedFiles++;
  }

  /**
   * After the second pass of a file the first pass read: names every element it could not write
   * beyond those already reported (an event with NaN or Infinity, which JSON has no numbers for,
   * passes the first pass's quick look), and a file that changed between the passes, so that no
   * warning contradicts the summary's count.
   */
  recount(path: string, first: PassCounts, second: PassCounts): void {
    const lines: string[] = [];
    const firstTotal = first.events + first.skipped;
    const secondTotal = second.events + second.skipped;
    if (firstTotal !== secondTotal) {
      lines.push(
        `the file changed while it was read (${firstTotal} array elements at first, ${secondTotal} then): the output holds the ${second.events} events read last`,
      );
    }
    const late = second.skipped - first.skipped;
    if (late > 0) {
      lines.push(
        `${late} event${
          late === 1 ? "" : "s"
        } left out: not valid JSON (a NaN or Infinity value, which JSON has no numbers for, or another invalid value)`,
      );
    }
    if (lines.length === 0) return;
    const damage = lines.join("; ");
    if (this.#strict) throw strictError(path, damage);
    this.#warnings.push({ source: path, message: damage });
    this.#metadata.warnings = this.#warnings;
  }
}

/** Elements of a file a pass read: taken as events, and not (not valid trace events). */
export interface PassCounts {
  events: number;
  skipped: number;
}

/** The error `--strict` raises for a damaged input. */
export function strictError(path: string, damage: string): TracerError {
  return new TracerError(`${path}: ${damage} (--strict refuses damaged input)`);
}
