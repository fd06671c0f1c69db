/**
 * Writing a combined trace in the format the output path asks for.
 * @module
 */
import type { OutputSpec } from "./args.ts";
import type { CombinedTrace } from "./trace_event.ts";
import { writeHtml } from "./writers/html.ts";
import { writeJson } from "./writers/json.ts";

/** Writes `trace` to `path` as the report (`.html`) or Chrome trace JSON (`.json`, `.json.gz`). */
export function writeOutput(
  trace: CombinedTrace,
  path: string,
  spec: OutputSpec,
): Promise<{ bytes: number; replaced: boolean }> {
  switch (spec.format) {
    case "html":
      return writeHtml(trace, path);
    case "json":
    case "json.gz":
      return writeJson(trace, path);
  }
}
