/**
 * After a run: turns every `result_*.raw` file the shim left into its per-process JSON file,
 * choosing names that never replace an existing file.
 * @module
 */
import { join } from "node:path";
import { convertRawFile, defaultJsonName } from "./raw_trace.ts";
import type { TraceWarning } from "./trace_event.ts";

/** Options for {@linkcode convertRawFiles}. */
export interface ConvertRawFilesOptions {
  /** Where the JSON files go (may hold earlier files: those are never replaced). */
  jsonDir: string;
  /** Gets one warning per process that left a cut-off or empty file. */
  warnings: TraceWarning[];
  /** Called with one line (no `tracer: ` prefix) when a file gets another name than usual. */
  report: (line: string) => void;
}

const RAW_NAME = /^result_(\d+)(?:_(\d+))?\.raw$/;

/** Converts each raw file of `rawDir`, in pid order; returns the paths of the JSON files. */
export async function convertRawFiles(
  rawDir: string,
  options: ConvertRawFilesOptions,
): Promise<string[]> {
  const rawNames: string[] = [];
  for await (const entry of Deno.readDir(rawDir)) {
    if (entry.isFile && RAW_NAME.test(entry.name)) rawNames.push(entry.name);
  }
  // result_9 < result_10 < result_10_1 (an exec successor after its predecessor).
  const stem = (name: string) => name.slice(0, -".raw".length);
  rawNames.sort((a, b) => stem(a).localeCompare(stem(b), "en", { numeric: true }));
  const names = await jsonNames(rawNames, options.jsonDir);
  const paths: string[] = [];
  for (const rawName of rawNames) {
    const jsonName = names.get(rawName)!;
    if (jsonName !== defaultJsonName(rawName)) {
      options.report(
        `${defaultJsonName(rawName)} already exists in ${options.jsonDir}: wrote ${jsonName}`,
      );
    }
    const jsonPath = join(options.jsonDir, jsonName);
    const result = await convertRawFile(join(rawDir, rawName), jsonPath, {
      jsonName: (name) => names.get(name) ?? defaultJsonName(name),
    });
    const source = `process ${RAW_NAME.exec(rawName)![1]}`;
    if (!result.written) {
      options.warnings.push({ source, message: "ended before writing any trace data" });
      continue;
    }
    if (!result.ended) {
      const lost = result.truncatedBytes > 0
        ? ` (lost its last ${result.truncatedBytes} bytes)`
        : "";
      options.warnings.push({
        source,
        message: `ended without its end record (killed?): kept ${result.events} events${lost}`,
      });
    }
    paths.push(jsonPath);
  }
  return paths;
}

/** The JSON name of each raw file: the usual one, or `result_<pid>_<k>.json` if that exists. */
async function jsonNames(rawNames: string[], jsonDir: string): Promise<Map<string, string>> {
  const taken = new Set<string>();
  for await (const entry of Deno.readDir(jsonDir)) taken.add(entry.name);
  const names = new Map<string, string>();
  for (const rawName of rawNames) {
    let name = defaultJsonName(rawName);
    const pid = RAW_NAME.exec(rawName)![1];
    for (let k = 1; taken.has(name); k++) name = `result_${pid}_${k}.json`;
    taken.add(name);
    names.set(rawName, name);
  }
  return names;
}
