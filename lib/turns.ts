/**
 * Long work that a signal must be able to stop. A signal's listener runs only when the event loop
 * gets a turn (a macrotask): work made of synchronous loops, or of microtasks alone (node:zlib
 * hands decompressed chunks on that way), never gives it one, and once kept a SIGTERM waiting 49 s.
 * @module
 */

/** How often (ms) stoppable work lets the event loop run. */
const TURN_MS = 50;

/** Steps between two looks at the clock: a look costs more than a step of a loop over ids. */
const STEPS_PER_LOOK = 4096;

/** Gives the event loop a turn every TURN_MS of work, and ends the work once `stop` aborted. */
export class Turns {
  #at = 0;
  #steps = 0;

  /** Without `stop`, nothing is ever due. Use {@linkcode turnsFor}. */
  constructor(readonly stop: AbortSignal | undefined) {}

  /**
   * Call once per step of a loop: true when a turn is due (then `await take()`). Cheap: it looks
   * at the clock once every STEPS_PER_LOOK steps.
   */
  due(): boolean {
    if (this.stop === undefined || ++this.#steps < STEPS_PER_LOOK) return false;
    this.#steps = 0;
    return performance.now() >= this.#at;
  }

  /** Call once per chunk of work (a chunk being much more than a step): a turn when one is due. */
  async chunk(): Promise<void> {
    if (this.stop === undefined) return;
    if (performance.now() >= this.#at) await this.take();
    this.stop.throwIfAborted();
  }

  /** Lets the event loop run, then throws the stop's reason if it aborted meanwhile. */
  async take(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.#at = performance.now() + TURN_MS;
    this.stop?.throwIfAborted();
  }
}

/** The one clock of turns of each stop signal: see {@linkcode turnsFor}. */
const shared = new WeakMap<AbortSignal, Turns>();

/** Turns that never come: work without a stop signal runs through. */
const NEVER = new Turns(undefined);

/**
 * The turns of the work `stop` ends, one clock for all of it: each pass over each input once
 * started with a turn of its own, which cost 20,000 small inputs 40 s of timers.
 */
export function turnsFor(stop: AbortSignal | undefined): Turns {
  if (stop === undefined) return NEVER;
  let turns = shared.get(stop);
  if (turns === undefined) shared.set(stop, turns = new Turns(stop));
  return turns;
}
