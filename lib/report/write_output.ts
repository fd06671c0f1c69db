/**
 * Writing a combined trace in the format the output path asks for.
 * @module
 */
import type { OutputSpec } from "./output_spec.ts";
import type { CombinedTrace } from "../trace_event.ts";
import type { CombinedTraceText } from "../combine/combine.ts";
import { writeHtml } from "./html.ts";
import { writeJson } from "./_json.ts";
import type { Written } from "./output_file.ts";

/**
 * Writes `trace` to `path` as the report (`.html`) or Chrome trace JSON (`.json`, `.json.gz`).
 * When `stop` aborts, writing stops at the next batch of events or chunk with `stop.reason`, and the
 * partial file is removed (the writers' clean-up on any failure).
 */
export function writeOutput(
  trace: CombinedTrace,
  path: string,
  spec: OutputSpec,
  stop?: AbortSignal,
): Promise<Written> {
  const stoppable = stop === undefined ? trace : abortable(trace, stop);
  switch (spec.format) {
    case "html":
      return writeHtml(stoppable, path, { stop });
    case "json":
    case "json.gz":
      return writeJson(stoppable, path);
  }
}

/** `trace`, whose event streams throw `stop.reason` once `stop` aborts. */
export function abortable(trace: CombinedTrace, stop: AbortSignal): CombinedTrace {
  const wrapped: CombinedTrace = {
    events: checked(trace.events, stop),
    // Complete only once the events are read: read them from the trace then, not now.
    get metadata() {
      return trace.metadata;
    },
    get warnings() {
      return trace.warnings;
    },
    get stats() {
      return trace.stats;
    },
  };
  if ("eventText" in trace) {
    const text = trace as CombinedTraceText;
    (wrapped as CombinedTraceText).eventText = () => checked(text.eventText(), stop);
  }
  return wrapped;
}

async function* checked<T>(items: AsyncIterable<T>, stop: AbortSignal): AsyncIterable<T> {
  for await (const item of items) {
    stop.throwIfAborted();
    yield item;
  }
}
