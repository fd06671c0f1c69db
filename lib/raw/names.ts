/**
 * The name table of a raw file: name id -> the event's `name` and `cat`, from its names records.
 * @module
 */

import { jsonText } from "../json_text.ts";

const MAX_NAME_ID = 1 << 30;
const encoder = new TextEncoder();
const UNFINISHED = ',"args":{"unfinished":true}}';

/** The names records read so far: name id -> its `name` and `cat`, as text and as bytes. */
export class NameTable {
  #done: Uint8Array[] = []; // name id -> `"name":...,"cat":"py"}`
  #open: Uint8Array[] = []; // name id -> the same, marked unfinished
  #values: { name: string; cat: string }[] = [];

  /**
   * Adds the entries of one names record (a parsed JSON array of `[id, name, cat]`); throws, and
   * adds none, when it is not one.
   */
  add(names: unknown): void {
    if (!Array.isArray(names)) throw new Error("a names record is not a JSON array");
    for (const entry of names) {
      const id = Array.isArray(entry) ? entry[0] : undefined;
      if (typeof id !== "number" || !Number.isInteger(id) || id <= 0 || id > MAX_NAME_ID) {
        throw new Error(`bad name id ${JSON.stringify(id)}`);
      }
    }
    for (const [id, nameValue, catValue] of names) {
      const name = String(nameValue);
      const cat = String(catValue);
      const head = `"name":${jsonText(name)},"cat":${jsonText(cat)}`;
      this.#done[id] = encoder.encode(head + "}");
      this.#open[id] = encoder.encode(head + UNFINISHED);
      this.#values[id] = { name, cat };
    }
  }

  /** The event's tail from `"name"` to its closing brace, for a name id. */
  tail(id: number): Uint8Array {
    return this.#done[id] ?? unknownName(id, "}");
  }

  /** The same for a call still open at the end: marked `"args":{"unfinished":true}`. */
  openTail(id: number): Uint8Array {
    return this.#open[id] ?? unknownName(id, UNFINISHED);
  }

  /** The event's `name` and `cat` for a name id. */
  values(id: number): { name: string; cat: string } {
    return this.#values[id] ?? { name: `(unknown name ${id})`, cat: "py" };
  }
}

function unknownName(id: number, end: string): Uint8Array {
  return encoder.encode(`"name":"(unknown name ${id})","cat":"py"${end}`);
}
