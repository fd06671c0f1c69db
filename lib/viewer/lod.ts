/**
 * Level-of-detail summaries for zoomed-out frames. A level with millions of slices would cost one
 * binary search per pixel column; instead, per level and bin size (the trace split into
 * 1024 x 2^j bins) it keeps a bitset of the bins where a slice starts, and the slices at least one
 * bin long. A frame whose pixel spans one or two bins draws the bitset as dense pixels and visits
 * only those long slices. Built lazily on first use, cached per track and level; each frame builds
 * at most a budget of slices' worth, so a first zoomed-out frame does not stall (levels left
 * unbuilt are drawn slice by slice). Pure: no DOM.
 * @module
 */
import type { Track } from "./model.ts";

/** The summary of one level at one bin size. */
export interface LevelSummary {
  /** Ticks per bin; bin m covers [m * binTicks, (m + 1) * binTicks). */
  binTicks: number;
  /** Bit m set when a slice starts in bin m. */
  occupied: Uint32Array;
  /** Slice indexes (in start order) of the level's slices lasting at least one bin. */
  long: Uint32Array;
}

const BASE_BINS = 1024;
/** A summary is only worth it with this many slices per bin on average (a flame chart's level). */
const MIN_SLICES_PER_BIN = 2;
/**
 * An activity strip's levels take a summary sooner: dozens of strips are on screen at once, and a
 * strip's few pixels of height need no slice-exact drawing.
 */
export const STRIP_SLICES_PER_BIN = 0.25;
/** Slices summarised per frame at most (a few milliseconds). */
const BUILD_BUDGET = 300_000;

/** Lazily built summaries of every level of every track of one trace. */
export class LevelOfDetail {
  #summaries = new Map<Track, (LevelSummary | undefined)[][]>();
  #budget = BUILD_BUDGET;

  /** Creates the cache for a trace `duration` ticks long. */
  constructor(readonly duration: number) {}

  /** Renews the per-frame build budget. */
  beginFrame(): void {
    this.#budget = BUILD_BUDGET;
  }

  /**
   * The summary with bins no longer than `ticksPerPixel` (and over half of it), or undefined when
   * the level has fewer than `minSlicesPerBin` slices a bin (too few for one to pay off) or this
   * frame's build budget is spent.
   */
  summary(
    track: Track,
    depth: number,
    ticksPerPixel: number,
    minSlicesPerBin = MIN_SLICES_PER_BIN,
  ): LevelSummary | undefined {
    const level = track.levels[depth];
    if (!level || this.duration <= 0) return undefined;
    const j = Math.max(0, Math.ceil(Math.log2(this.duration / (BASE_BINS * ticksPerPixel))));
    const bins = BASE_BINS * 2 ** j;
    if (level.length < bins * minSlicesPerBin) return undefined;
    let levels = this.#summaries.get(track);
    if (!levels) this.#summaries.set(track, levels = []);
    const perBin = levels[depth] ??= [];
    if (perBin[j] || this.#budget <= 0) return perBin[j];
    this.#budget -= level.length;
    return perBin[j] = summarize(track, level, { bins, binTicks: this.duration / bins });
  }
}

/** Builds the bitset of occupied bins and the list of slices lasting at least one bin. */
export function summarize(
  track: Track,
  level: Uint32Array,
  options: { bins: number; binTicks: number },
): LevelSummary {
  const { bins, binTicks } = options;
  const { start, dur } = track;
  const occupied = new Uint32Array(Math.ceil(bins / 32));
  let longCount = 0;
  for (let i = 0; i < level.length; i++) {
    const k = level[i];
    const bin = Math.min(bins - 1, Math.max(0, Math.floor(start[k] / binTicks)));
    occupied[bin >>> 5] |= 1 << (bin & 31);
    if (dur[k] >= binTicks) longCount++;
  }
  const long = new Uint32Array(longCount);
  let n = 0;
  for (let i = 0; i < level.length; i++) if (dur[level[i]] >= binTicks) long[n++] = level[i];
  return { binTicks, occupied, long };
}
