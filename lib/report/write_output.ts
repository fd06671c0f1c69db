/**
 * Writing a combined trace in the format the output path asks for.
 * @module
 */
import type { OutputSpec } from "../cli/args.ts";
import type { CombinedTrace } from "../trace_event.ts";
import { writeHtml } from "./html.ts";
import { writeJson } from "./_json.ts";
import type { Replaced } from "./output_file.ts";

/** Writes `trace` to `path` as the report (`.html`) or Chrome trace JSON (`.json`, `.json.gz`). */
export function writeOutput(
  trace: CombinedTrace,
  path: string,
  spec: OutputSpec,
): Promise<{ bytes: number; replaced: Replaced }> {
  switch (spec.format) {
    case "html":
      return writeHtml(trace, path);
    case "json":
    case "json.gz":
      return writeJson(trace, path);
  }
}
