/**
 * `--tracer_entries N` on the reading side (docs/internals.md, 2a, "Event cap"): a file whose
 * header has `event_cap` keeps the process's first ceil(N/2) and last floor(N/2) calls, by end
 * time (ties in file order), and counts the others as dropped; markers (a slice over each thread's
 * gap) show where they were left out and how many. A call ending in the tail has its callers there too (they end
 * later), so the kept stacks stay whole. Calls still open at the end end last.
 *
 * The writer (py/_tracer/cap_ring.py) keeps every call that ended before the head's share was
 * written, and every call that ended after the latest one it recycled; its `D` record says how
 * many it recycled and that latest end. A capped file is read once more when it may hold more
 * than N calls: {@linkcode capTrim} decides from every finished call's end, then
 * {@linkcode CapTrim} keeps those calls as the second reading hands them over, in the same order.
 * @module
 */
import type { TraceEvent } from "../trace_event.ts";
import { headerValue } from "./header.ts";
import { keptCalls } from "./kept_calls.ts";

/** `otherData.event_cap` of a header's JSON text: N, or 0 (none: a flight file, an older file). */
export function eventCap(headerText: string): number {
  const value = headerValue(headerText, "event_cap");
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : 0;
}

/** The calls the writer's ring recycled: how many, and the latest end (ns) among them. */
export interface RingLoss {
  calls: number;
  latestNs: number;
}

/** (head, tail): the calls kept from a process's start and from its end, as cap_ring.py. */
export function shares(cap: number): [number, number] {
  return [Math.ceil(cap / 2), Math.floor(cap / 2)];
}

/** The finished calls' ends (ns) of a file, in file order. */
export class CallEnds {
  #ends = new Float64Array(1024);
  #length = 0;

  push(endNs: number): void {
    if (this.#length === this.#ends.length) {
      const more = new Float64Array(this.#ends.length * 2);
      more.set(this.#ends);
      this.#ends = more;
    }
    this.#ends[this.#length++] = endNs;
  }

  /** The ends pushed so far (a view). */
  view(): Float64Array {
    return this.#ends.subarray(0, this.#length);
  }
}

/**
 * What a file capped at `cap` keeps, from its finished calls' `ends` (file order), its count of
 * calls still open at the end and what the writer's ring recycled; undefined when nothing is left
 * out. The tail takes only calls that ended after the latest recycled one (those before it may
 * have had neighbours recycled), so it is short of its share only when a thread's retired block
 * held calls much older than the others'.
 */
export function capTrim(
  cap: number,
  ends: Float64Array,
  open: number,
  loss: RingLoss | undefined,
): CapTrim | undefined {
  const lost = loss?.calls ?? 0;
  const finished = ends.length;
  if (lost === 0 && finished + open <= cap) return undefined;
  const sorted = ends.slice().sort();
  const [headShare] = shares(cap);
  const headCount = Math.min(headShare, finished);
  const poolStart = Math.max(headCount, after(sorted, loss?.latestNs ?? -Infinity));
  const tailCount = Math.min(cap - headCount, finished - poolStart + open);
  const openKept = Math.min(open, tailCount);
  const tailFinished = tailCount - openKept;
  const h = headCount > 0 ? sorted[headCount - 1] : -Infinity;
  const t = tailFinished > 0 ? sorted[finished - tailFinished] : Infinity;
  return new CapTrim({
    cap,
    h,
    headTies: headCount - before(sorted, h),
    t,
    tailSkips: tailFinished > 0 ? finished - tailFinished - before(sorted, t) : 0,
    openKept,
    leftOut: finished + open - headCount - tailCount + lost,
    recycledNs: lost > 0 ? loss!.latestNs : -Infinity,
  });
}

/** The first index of `sorted` whose value is `value` or more. */
function before(sorted: Float64Array, value: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index of `sorted` whose value is more than `value`. */
function after(sorted: Float64Array, value: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The thresholds {@linkcode capTrim} computes. */
interface Thresholds {
  cap: number;
  /** The head: calls ending before `h`, and the first `headTies` (in file order) ending at it. */
  h: number;
  headTies: number;
  /** The tail: calls ending after `t`, and those ending at it but the first `tailSkips`. */
  t: number;
  tailSkips: number;
  /** Calls still open at the end that are kept, outermost first, thread by thread. */
  openKept: number;
  /** Calls left out: in the file but not kept, and recycled by the writer. */
  leftOut: number;
  /** The latest end of the calls the writer recycled (-Infinity: none). */
  recycledNs: number;
}

/**
 * The calls a capped file keeps, decided as the second reading hands them over: each finished
 * call once, in file order ({@linkcode keep}), then each thread's open calls ({@linkcode open}).
 */
export class CapTrim {
  /** How many calls ending at `h` or `t` were seen so far. */
  readonly #seen = new Map<number, number>();
  #openLeft: number;
  /** The latest end of a head call kept, and its thread: where the marker goes without gaps. */
  #anchor: { ns: number; tid: number } | undefined;
  /** Per thread: the latest end of its head calls kept. */
  readonly #headEnds = new Map<number, number>();
  /** Per thread: the starts of its tail calls kept. */
  readonly #tailStarts = new Map<number, number[]>();
  /** Per thread: the latest end of its calls left out (those in the file). */
  readonly #leftEnds = new Map<number, number>();

  constructor(private readonly at: Thresholds) {
    this.#openLeft = at.openKept;
  }

  /** Calls left out: counted as dropped. */
  get leftOut(): number {
    return this.at.leftOut;
  }

  /**
   * Whether the next finished call (in file order), from `startNs` to `endNs` in `tid`, is kept.
   */
  keep(startNs: number, endNs: number, tid: number): boolean {
    const { h, t } = this.at;
    let seen = 0;
    if (endNs === h || endNs === t) {
      seen = this.#seen.get(endNs) ?? 0;
      this.#seen.set(endNs, seen + 1);
    }
    if (endNs < h || (endNs === h && seen < this.at.headTies)) {
      if (this.#anchor === undefined || endNs >= this.#anchor.ns) this.#anchor = { ns: endNs, tid };
      if (!(endNs <= (this.#headEnds.get(tid) ?? -Infinity))) this.#headEnds.set(tid, endNs);
      return true;
    }
    const kept = endNs > t || (endNs === t && seen >= this.at.tailSkips);
    if (kept) {
      const starts = this.#tailStarts.get(tid);
      if (starts === undefined) this.#tailStarts.set(tid, [startNs]);
      else starts.push(startNs);
    } else if (!(endNs <= (this.#leftEnds.get(tid) ?? -Infinity))) {
      this.#leftEnds.set(tid, endNs);
    }
    return kept;
  }

  /** An events block's numbers with only the calls kept (a copy when some are not). */
  numbers(numbers: Float64Array): Float64Array {
    return keptCalls(numbers, (start, end, tid) => this.keep(start, end, tid));
  }

  /** How many of a thread's `count` open calls are kept: its outermost ones. */
  open(count: number): number {
    const kept = Math.min(count, this.#openLeft);
    this.#openLeft -= kept;
    return kept;
  }

  /**
   * The marks of the calls left out. A thread's gap runs from the end of its last head call to the
   * latest end of its calls left out (or of those the writer recycled, whose thread is unknown).
   * Tail calls that start inside it enclose the rest of it (they end later still), so it is cut at
   * their starts: one slice per piece, 1 ns inside each end (`ts + dur` in microseconds is not
   * exact, and a piece must not seem to enclose the call that ends where it starts). The calls that
   * enclose a piece get it as a child, so they do not count the time of the calls left out as their
   * own. Without any gap, one instant of the process at the end of the last head call kept (at
   * `endNs` on `tid` without one). Each names the process's count.
   */
  markers(pid: number, endNs: number, tid: number): TraceEvent[] {
    const { leftOut, cap, recycledNs } = this.at;
    const name = `${grouped(leftOut)} ${leftOut === 1 ? "call" : "calls"} left out (event cap)`;
    const args = { left_out: leftOut, event_cap: cap };
    const gaps: TraceEvent[] = [];
    for (const [thread, headEnd] of this.#headEnds) {
      const gapEnd = Math.max(this.#leftEnds.get(thread) ?? -Infinity, recycledNs);
      if (!(gapEnd > headEnd)) continue;
      const cuts = (this.#tailStarts.get(thread) ?? [])
        .filter((start) => start > headEnd && start < gapEnd)
        .sort((a, b) => a - b);
      const bounds = [headEnd, ...cuts, gapEnd];
      for (let k = 0; k + 1 < bounds.length; k++) {
        const from = bounds[k], to = bounds[k + 1];
        if (to - from <= 2) continue;
        gaps.push({
          ph: "X",
          pid,
          tid: thread,
          ts: (from + 1) / 1000,
          dur: (to - from - 2) / 1000,
          name,
          cat: "tracer",
          args,
        });
      }
    }
    if (gaps.length > 0) return gaps;
    const at = this.#anchor ?? { ns: endNs, tid };
    return [{ ph: "i", s: "p", pid, tid: at.tid, ts: at.ns / 1000, name, cat: "tracer", args }];
  }
}

/** 1234567 -> "1,234,567". */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
