/**
 * The slices of every track, read back per track in start order, in memory that does not grow with
 * their number or with the number of tracks: slices gather in one log of columns (typed arrays, no
 * object per slice, none per track); once it holds `budget` of them it is sorted by track and start
 * and appended to a scratch file (lib/report/_spill.ts) as one run per track, and reading a track
 * merges its runs with what the log still holds.
 * @module
 */
import { SpillFile } from "./_spill.ts";

/** Takes one slice, in order: start and duration (ticks), name, category and args ids, flags. */
export type SliceVisitor = (
  start: number,
  dur: number,
  name: number,
  cat: number,
  args: number,
  flags: number,
) => void;

/** Slices all tracks hold in memory before they are spilled (about 30 bytes each). */
export const SLICE_BUDGET = 1 << 18;

/** Slices read back from a run at once. */
const BLOCK = 4096;

/** A run's bytes per slice: start and dur as float64, name, cat and args as uint32, flags. */
const RUN_SLICE_BYTES = 8 + 8 + 4 + 4 + 4 + 1;

/** Sorted slices of one track in the scratch file: each column a section, in the order above. */
interface Run {
  offset: number;
  count: number;
}

class Columns {
  track: Uint32Array;
  start: Float64Array;
  dur: Float64Array;
  name: Uint32Array;
  cat: Uint32Array;
  args: Uint32Array;
  flags: Uint8Array;
  length = 0;

  constructor(capacity: number) {
    this.track = new Uint32Array(capacity);
    this.start = new Float64Array(capacity);
    this.dur = new Float64Array(capacity);
    this.name = new Uint32Array(capacity);
    this.cat = new Uint32Array(capacity);
    this.args = new Uint32Array(capacity);
    this.flags = new Uint8Array(capacity);
  }

  grow() {
    const size = this.start.length * 2;
    const grow = <T extends Float64Array | Uint32Array | Uint8Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.track = grow(this.track, new Uint32Array(size));
    this.start = grow(this.start, new Float64Array(size));
    this.dur = grow(this.dur, new Float64Array(size));
    this.name = grow(this.name, new Uint32Array(size));
    this.cat = grow(this.cat, new Uint32Array(size));
    this.args = grow(this.args, new Uint32Array(size));
    this.flags = grow(this.flags, new Uint8Array(size));
  }

  /**
   * Indexes `[0, length)` by track, then start, longer first on equal starts, else as added
   * (stable).
   */
  order(): Uint32Array {
    const n = this.length;
    const { track, start, dur } = this;
    const order = new Uint32Array(n);
    let sorted = true;
    for (let i = 0; i < n; i++) {
      order[i] = i;
      if (i > 0 && sorted) {
        const t = track[i] - track[i - 1];
        sorted = t > 0 || (t === 0 && (start[i] > start[i - 1] ||
          (start[i] === start[i - 1] && dur[i] <= dur[i - 1])));
      }
    }
    if (!sorted) {
      order.sort((a, b) => track[a] - track[b] || start[a] - start[b] || dur[b] - dur[a]);
    }
    return order;
  }
}

class Track {
  runs: Run[] = [];
  count = 0;
}

/** Where one track's merge stands in one of its sources: a run, or the slices still in memory. */
class Cursor {
  /** The columns holding the current slice, at index `at`. */
  readonly block: Columns;
  at = 0;
  /** Slices of the source taken so far (a run's next block starts there). */
  #taken = 0;
  readonly #order: Uint32Array | undefined;
  readonly #run: Run | undefined;

  private constructor(
    block: Columns,
    source: { run?: Run; order?: Uint32Array },
    private readonly file: SpillFile | undefined,
    /** Rank of the source: ties go to the earlier one (slices added earlier). */
    readonly rank: number,
  ) {
    this.block = block;
    this.#run = source.run;
    this.#order = source.order;
  }

  /** A cursor over a spilled run, at its first slice; undefined when it is empty. */
  static ofRun(run: Run, file: SpillFile, rank: number): Cursor | undefined {
    const cursor = new Cursor(new Columns(Math.min(BLOCK, run.count)), { run }, file, rank);
    return cursor.#load() ? cursor : undefined;
  }

  /** A cursor over the log's slices `order[from, to)`, read in place. */
  static ofLog(
    columns: Columns,
    order: Uint32Array,
    from: number,
    to: number,
    rank: number,
  ): Cursor | undefined {
    if (from >= to) return undefined;
    const cursor = new Cursor(columns, { order: order.subarray(from, to) }, undefined, rank);
    cursor.at = order[from];
    cursor.#taken = 1;
    return cursor;
  }

  /** Moves to the next slice; false when the source is exhausted. */
  advance(): boolean {
    const order = this.#order;
    if (order !== undefined) {
      if (this.#taken >= order.length) return false;
      this.at = order[this.#taken++];
      return true;
    }
    if (++this.at < this.block.length) return true;
    return this.#load();
  }

  start(): number {
    return this.block.start[this.at];
  }

  dur(): number {
    return this.block.dur[this.at];
  }

  /** Reads the run's next block of slices; false when none is left. */
  #load(): boolean {
    const run = this.#run!;
    const n = Math.min(BLOCK, run.count - this.#taken);
    if (n <= 0) return false;
    const block = this.block;
    let section = run.offset;
    const read = (view: Float64Array | Uint32Array | Uint8Array) => {
      const size = view.BYTES_PER_ELEMENT;
      const bytes = new Uint8Array(view.buffer, view.byteOffset, n * size);
      this.file!.readAt(section + this.#taken * size, bytes);
      section += run.count * size;
    };
    read(block.start);
    read(block.dur);
    read(block.name);
    read(block.cat);
    read(block.args);
    read(block.flags);
    block.length = n;
    this.#taken += n;
    this.at = 0;
    return true;
  }
}

/** Every track's slices, kept in memory up to a budget and spilled past it. */
export class SliceStore {
  #tracks: Track[] = [];
  #log = new Columns(1024);
  #file: SpillFile | undefined;
  /** Once reading began: the log's order, and each track's range of it. */
  #final: { order: Uint32Array; from: Int32Array; to: Int32Array } | undefined;

  /** A store that spills once its log holds `budget` slices. */
  constructor(readonly budget: number = SLICE_BUDGET) {}

  /** Adds a track; returns its index. */
  addTrack(): number {
    this.#tracks.push(new Track());
    return this.#tracks.length - 1;
  }

  /** Slices added to `track`. */
  count(track: number): number {
    return this.#tracks[track].count;
  }

  /** True once slices went to the scratch file. */
  get spilled(): boolean {
    return this.#file !== undefined;
  }

  /** Adds one slice to `track` (args: a string id, or 0 when `flags` says it has none). */
  push(
    track: number,
    start: number,
    dur: number,
    name: number,
    cat: number,
    args: number,
    flags: number,
  ): void {
    if (this.#final !== undefined) throw new Error("a slice added after reading began");
    const log = this.#log;
    if (log.length === log.start.length) log.grow();
    const i = log.length++;
    log.track[i] = track;
    log.start[i] = start;
    log.dur[i] = dur;
    log.name[i] = name;
    log.cat[i] = cat;
    log.args[i] = args;
    log.flags[i] = flags;
    this.#tracks[track].count++;
    if (log.length >= this.budget) this.#spill();
  }

  /** Sorts the log by track and start into one run per track in the scratch file. */
  #spill() {
    const file = this.#file ??= SpillFile.create();
    const log = this.#log;
    const order = log.order();
    const bytes = new Uint8Array(BLOCK * 8);
    for (let from = 0; from < order.length;) {
      const track = log.track[order[from]];
      let to = from + 1;
      while (to < order.length && log.track[order[to]] === track) to++;
      const n = to - from;
      const run = { offset: file.size, count: n };
      for (const key of ["start", "dur", "name", "cat", "args", "flags"] as const) {
        const column = log[key];
        for (let k = from; k < to; k += BLOCK) {
          const m = Math.min(BLOCK, to - k);
          const view = new (column.constructor as Float64ArrayConstructor)(bytes.buffer, 0, m);
          for (let j = 0; j < m; j++) view[j] = column[order[k + j]];
          file.append(bytes.subarray(0, m * column.BYTES_PER_ELEMENT));
        }
      }
      if (file.size - run.offset !== n * RUN_SLICE_BYTES) {
        throw new Error("a spilled run has the wrong size");
      }
      this.#tracks[track].runs.push(run);
      from = to;
    }
    log.length = 0;
  }

  /**
   * The slices of `track` by start, longer first on equal starts, else in the order they were
   * added (the writer's depth rule needs parents before their children). No slice may be added
   * once reading began.
   */
  merge(track: number): TrackMerge {
    const final = this.#final ??= this.#finalOrder();
    const data = this.#tracks[track];
    const cursors = data.runs.map((run, rank) => Cursor.ofRun(run, this.#file!, rank));
    cursors.push(
      Cursor.ofLog(this.#log, final.order, final.from[track], final.to[track], data.runs.length),
    );
    return new TrackMerge(new CursorHeap(cursors.filter((cursor) => cursor !== undefined)));
  }

  /** The log sorted once for reading, and where each track's slices are in that order. */
  #finalOrder() {
    const order = this.#log.order();
    const from = new Int32Array(this.#tracks.length);
    const to = new Int32Array(this.#tracks.length);
    const tracks = this.#log.track;
    for (let k = 0; k < order.length; k++) {
      const track = tracks[order[k]];
      if (k === 0 || tracks[order[k - 1]] !== track) from[track] = k;
      to[track] = k + 1;
    }
    return { order, from, to };
  }

  /** Frees the scratch file. */
  close(): void {
    this.#file?.close();
  }
}

/** One track's slices in order, visited a bounded number at a time (work that can pause). */
export class TrackMerge {
  #heap: CursorHeap;

  constructor(heap: CursorHeap) {
    this.#heap = heap;
  }

  /** Visits up to `max` more slices; returns false once every slice was visited. */
  visit(visit: SliceVisitor, max: number): boolean {
    const heap = this.#heap;
    for (let k = 0; k < max; k++) {
      const top = heap.top();
      if (top === undefined) return false;
      const { block, at } = top;
      visit(
        block.start[at],
        block.dur[at],
        block.name[at],
        block.cat[at],
        block.args[at],
        block.flags[at],
      );
      if (top.advance()) heap.settle();
      else heap.pop();
    }
    return heap.top() !== undefined;
  }
}

/** The cursors of one merge, the one holding the next slice at the top. */
class CursorHeap {
  #items: Cursor[];

  constructor(items: Cursor[]) {
    this.#items = items;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  top(): Cursor | undefined {
    return this.#items[0];
  }

  /** The top cursor moved on: restores the order. */
  settle(): void {
    this.#down(0);
  }

  /** The top cursor is exhausted: removes it. */
  pop(): void {
    const last = this.#items.pop()!;
    if (this.#items.length > 0) {
      this.#items[0] = last;
      this.#down(0);
    }
  }

  #before(a: Cursor, b: Cursor): boolean {
    const sa = a.start(), sb = b.start();
    if (sa !== sb) return sa < sb;
    const da = a.dur(), db = b.dur();
    if (da !== db) return da > db;
    return a.rank < b.rank;
  }

  #down(i: number) {
    const items = this.#items;
    const n = items.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) return;
      const right = left + 1;
      const child = right < n && this.#before(items[right], items[left]) ? right : left;
      if (!this.#before(items[child], items[i])) return;
      [items[i], items[child]] = [items[child], items[i]];
      i = child;
    }
  }
}
