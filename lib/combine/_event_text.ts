/**
 * The combined events as JSON text, the JSON writer's fast path: one event per line, separated by
 * `,\n`, built in a reused byte buffer.
 * @module
 */
import { COMMA, NEWLINE } from "../bytes/ascii.ts";
import { ByteBuffer } from "../bytes/byte_buffer.ts";
import type { TraceEvent } from "../trace_event.ts";
import { jsonText } from "../json_text.ts";

/** The output of the text pass; sources append their events to `out`. */
export class EventText {
  /** The text so far; the combine hands it out in chunks with `out.take()`. */
  readonly out: ByteBuffer = new ByteBuffer(1 << 20);
  #first = true;

  /** Starts the next event: writes `,\n` before every event but the first. */
  separate(): void {
    if (this.#first) {
      this.#first = false;
      return;
    }
    const out = this.out;
    out.reserve(2);
    out.bytes[out.length++] = COMMA;
    out.bytes[out.length++] = NEWLINE;
  }

  /** Appends one event as `jsonText` writes it, after its separator. */
  appendObject(event: TraceEvent): void {
    this.separate();
    this.out.text(jsonText(event));
  }
}
