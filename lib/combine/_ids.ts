/**
 * Process and thread ids as combine keeps them: compact, whatever their number. A trace may use
 * millions of distinct pids; one string per pid in a `Set` (and another per thread) once took
 * gigabytes and seconds per pass. Here an id that is a safe integer (every real pid and tid) is a
 * number, kept in typed arrays; any other JSON value (a string, 1.5) is its canonical JSON text,
 * kept in a plain `Set` or `Map` beside them.
 * @module
 */
import { canonicalJson } from "./_json_values.ts";

/** A pid or tid: a safe integer as a number, any other JSON value as its canonical JSON text. */
export type Id = number | string;

/** The id of canonical JSON text (as `JSON.stringify` writes a value). */
export function idOfText(text: string): Id {
  if (!INTEGER_TEXT.test(text)) return text;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : text;
}

/** An integer as `JSON.stringify` writes it: no leading zero, no `-0`, no exponent. */
const INTEGER_TEXT = /^(0|-?[1-9][0-9]{0,15})$/;

/** The id of the JSON value in `bytes[start, end)`; a plain integer costs no string. */
export function idOfBytes(bytes: Uint8Array, start: number, end: number): Id {
  const negative = bytes[start] === 0x2d;
  let i = negative ? start + 1 : start;
  const digits = end - i;
  if (digits > 0 && digits <= 15 && !(bytes[i] === 0x30 && digits > 1)) {
    let value = 0;
    for (; i < end; i++) {
      const digit = bytes[i] - 0x30;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    // 0 - value: "-0" is 0, as JSON.stringify writes it.
    if (i === end) return negative ? 0 - value : value;
  }
  return idOfText(canonicalJson(bytes, start, end));
}

/** The id of a parsed JSON value. */
export function idOfValue(value: unknown): Id {
  // + 0: -0 is 0, as JSON.stringify writes it.
  return Number.isSafeInteger(value) ? (value as number) + 0 : idOfText(JSON.stringify(value));
}

/** The JSON text of an id. */
export function idText(id: Id): string {
  return typeof id === "number" ? String(id) : id;
}

/**
 * The JSON value of an id (as the event held it); undefined for text that is no JSON value (the
 * first pass met it in an element the second pass leaves out as invalid).
 */
export function idValue(id: Id): unknown {
  if (typeof id === "number") return id;
  try {
    return JSON.parse(id);
  } catch {
    return undefined;
  }
}

const EMPTY = 0;
const MIN_SLOTS = 16;
/** What an empty table holds: an input file often has one pid, or none to keep here. */
const NO_NUMBERS = new Float64Array(0);
const NO_SLOTS = new Int32Array(0);

/**
 * Numbers, or pairs of numbers, in insertion order, each with a number value if asked, in typed
 * arrays: 8 bytes a number (16 a pair, 8 more with a value), plus 4 to 8 bytes of hash slots
 * (open addressing, at most half full).
 */
class NumberPairs {
  #first = NO_NUMBERS;
  /** Empty unless it holds pairs. */
  #second = NO_NUMBERS;
  /** Empty unless it holds values. */
  #values = NO_NUMBERS;
  /** Index + 1 of the entry in each slot, EMPTY for none; no slots until the first entry. */
  #slots = NO_SLOTS;
  size = 0;

  constructor(readonly pairs: boolean, readonly values: boolean) {}

  /** The index of the pair (of `a` alone, when it holds numbers), or -1. */
  indexOf(a: number, b = 0): number {
    if (this.size === 0) return -1;
    const mask = this.#slots.length - 1;
    for (let slot = hash(a, b) & mask;; slot = (slot + 1) & mask) {
      const at = this.#slots[slot];
      if (at === EMPTY) return -1;
      if (this.#first[at - 1] === a && (!this.pairs || this.#second[at - 1] === b)) return at - 1;
    }
  }

  /** Adds the pair (`b` 0 for a number) with `value` unless it is there; true when it was not. */
  add(a: number, b = 0, value = 0): boolean {
    if (this.#slots.length === 0) this.#slots = new Int32Array(MIN_SLOTS);
    const mask = this.#slots.length - 1;
    let slot = hash(a, b) & mask;
    for (;; slot = (slot + 1) & mask) {
      const at = this.#slots[slot];
      if (at === EMPTY) break;
      if (this.#first[at - 1] === a && (!this.pairs || this.#second[at - 1] === b)) return false;
    }
    if (this.size === this.#first.length) this.#grow();
    this.#first[this.size] = a;
    if (this.pairs) this.#second[this.size] = b;
    if (this.values) this.#values[this.size] = value;
    this.size++;
    if (this.size * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2);
    else this.#slots[slot] = this.size;
    return true;
  }

  first(index: number): number {
    return this.#first[index];
  }

  second(index: number): number {
    return this.pairs ? this.#second[index] : 0;
  }

  value(index: number): number {
    return this.values ? this.#values[index] : 0;
  }

  #grow(): void {
    const length = Math.max(MIN_SLOTS / 2, this.#first.length * 2);
    const grown = (array: Float64Array<ArrayBuffer>) => {
      const bigger = new Float64Array(length);
      bigger.set(array);
      return bigger;
    };
    this.#first = grown(this.#first);
    if (this.pairs) this.#second = grown(this.#second);
    if (this.values) this.#values = grown(this.#values);
  }

  #rehash(slots: number): void {
    this.#slots = new Int32Array(slots);
    const mask = slots - 1;
    for (let index = 0; index < this.size; index++) {
      let slot = hash(this.#first[index], this.second(index)) & mask;
      while (this.#slots[slot] !== EMPTY) slot = (slot + 1) & mask;
      this.#slots[slot] = index + 1;
    }
  }
}

const scratch = new Float64Array(2);
const scratchWords = new Uint32Array(scratch.buffer);

/** Mixes the bits of two doubles (murmur3's finaliser over the four words). */
function hash(a: number, b: number): number {
  scratch[0] = a;
  scratch[1] = b;
  let h = Math.imul(scratchWords[0] ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ scratchWords[1] ^ (h >>> 15), 0xc2b2ae35);
  h = Math.imul(h ^ scratchWords[2] ^ (h >>> 13), 0x85ebca6b);
  h = Math.imul(h ^ scratchWords[3] ^ (h >>> 16), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A set of ids: numbers first (in the order added), then the others. */
export class IdSet {
  #numbers = new NumberPairs(false, false);
  /** Made at the first id that is not a number (most files have none). */
  #others: Set<string> | undefined;

  /** How many ids it holds. */
  get size(): number {
    return this.#numbers.size + (this.#others?.size ?? 0);
  }

  /** Adds `id`; true when it was not there. */
  add(id: Id): boolean {
    if (typeof id === "number") return this.#numbers.add(id);
    this.#others ??= new Set();
    if (this.#others.has(id)) return false;
    this.#others.add(id);
    return true;
  }

  has(id: Id): boolean {
    if (typeof id === "number") return this.#numbers.indexOf(id) >= 0;
    return this.#others?.has(id) ?? false;
  }

  *[Symbol.iterator](): IterableIterator<Id> {
    const numbers = this.#numbers;
    for (let index = 0; index < numbers.size; index++) yield numbers.first(index);
    if (this.#others !== undefined) yield* this.#others;
  }
}

/** A map from ids to numbers (new pids, file indexes). */
export class IdMap {
  #numbers = new NumberPairs(false, true);
  /** Made at the first id that is not a number. */
  #others: Map<string, number> | undefined;

  get size(): number {
    return this.#numbers.size + (this.#others?.size ?? 0);
  }

  get(id: Id): number | undefined {
    if (typeof id !== "number") return this.#others?.get(id);
    const index = this.#numbers.indexOf(id);
    return index < 0 ? undefined : this.#numbers.value(index);
  }

  /** Maps `id` to `value`, unless it is mapped already (a map is written once per id). */
  setOnce(id: Id, value: number): void {
    if (typeof id === "number") {
      this.#numbers.add(id, 0, value);
      return;
    }
    this.#others ??= new Map();
    if (!this.#others.has(id)) this.#others.set(id, value);
  }

  *entries(): IterableIterator<[Id, number]> {
    const numbers = this.#numbers;
    for (let index = 0; index < numbers.size; index++) {
      yield [numbers.first(index), numbers.value(index)];
    }
    if (this.#others !== undefined) yield* this.#others;
  }
}

/** A set of threads: (pid, tid) pairs of ids. */
export class ThreadSet {
  #numbers = new NumberPairs(true, false);
  /**
   * Pairs with an id that is not a number, by `pid\ntid` (JSON texts never hold a newline); made
   * at the first one.
   */
  #others: Map<string, [Id, Id]> | undefined;

  get size(): number {
    return this.#numbers.size + (this.#others?.size ?? 0);
  }

  /** Adds the thread; true when it was not there. */
  add(pid: Id, tid: Id): boolean {
    if (typeof pid === "number" && typeof tid === "number") return this.#numbers.add(pid, tid);
    const key = `${idText(pid)}\n${idText(tid)}`;
    this.#others ??= new Map();
    if (this.#others.has(key)) return false;
    this.#others.set(key, [pid, tid]);
    return true;
  }

  has(pid: Id, tid: Id): boolean {
    if (typeof pid === "number" && typeof tid === "number") {
      return this.#numbers.indexOf(pid, tid) >= 0;
    }
    return this.#others?.has(`${idText(pid)}\n${idText(tid)}`) ?? false;
  }

  /** Every thread, as its pid and tid. */
  *[Symbol.iterator](): IterableIterator<[Id, Id]> {
    const numbers = this.#numbers;
    for (let index = 0; index < numbers.size; index++) {
      yield [numbers.first(index), numbers.second(index)];
    }
    if (this.#others !== undefined) yield* this.#others.values();
  }
}
