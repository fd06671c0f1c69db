/**
 * After a run: turns every `result_*.raw` file the shim left into its per-process JSON file,
 * choosing names that never replace an existing file (lib/combine/raw_source.ts readies them for
 * combining directly, with the same names and warnings).
 * @module
 */
import { basename, join } from "node:path";
import { TracerError } from "../errors.ts";
import { convertRawFile, defaultJsonName } from "./convert.ts";
import type { TraceWarning } from "../trace_event.ts";

/** Options for {@linkcode convertRawFiles} (and combine's `probeRawFiles`). */
export interface ConvertRawFilesOptions {
  /** Where the JSON files go (may hold earlier files: those are never replaced). */
  jsonDir: string;
  /** Gets one warning per process that left a cut-off or empty file. */
  warnings: TraceWarning[];
  /** Called with one line (no `tracer: ` prefix) when a file gets another name than usual. */
  report: (line: string) => void;
  /** Aborted (tracer got a signal): stop converting; the partial file is removed. */
  stop?: AbortSignal;
}

const RAW_NAME = /^result_(\d+)(?:_(\d+))?\.raw$/;

/** A raw file and the JSON file it stands for (its name in metadata, labels and `exec_of` links). */
export interface RawInput {
  rawPath: string;
  /** The path the converted JSON file would have. */
  path: string;
  /** The JSON file name for a raw file name (rewrites `exec_of` and `parent_file`). */
  jsonName: (rawName: string) => string;
}

/** Converts each raw file of `rawDir`, in pid order; returns the paths of the JSON files. */
export async function convertRawFiles(
  rawDir: string,
  options: ConvertRawFilesOptions,
): Promise<string[]> {
  const paths: string[] = [];
  for (const input of await rawInputs(rawDir, options)) {
    options.stop?.throwIfAborted();
    const result = await convertInput(input, options);
    if (result !== null && keep(input, result, options.warnings)) paths.push(input.path);
  }
  return paths;
}

/** Converts one raw file into its JSON file; null (and a warning) when it cannot be read. */
export function convertInput(input: RawInput, options: ConvertRawFilesOptions) {
  return unlessDamaged(
    input,
    () =>
      convertRawFile(input.rawPath, input.path, { jsonName: input.jsonName, stop: options.stop }),
    options.warnings,
  );
}

/**
 * Runs `read` on one process's file; a file tracer cannot read (foreign or damaged from its first
 * byte) gets one warning naming its process and null, so the run's other processes still combine.
 */
export async function unlessDamaged<T>(
  input: RawInput,
  read: () => Promise<T>,
  warnings: TraceWarning[],
): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    if (!(error instanceof TracerError)) throw error;
    const reason = error.message.replace(input.rawPath, "its trace file");
    warnings.push({ source: processOf(input), message: `skipped: ${reason}` });
    return null;
  }
}

function processOf(input: RawInput): string {
  return `process ${RAW_NAME.exec(basename(input.rawPath))![1]}`;
}

/** Warns about a process that left no data or no end record; true when it has data. */
export function keep(
  input: RawInput,
  result: { written: boolean; ended: boolean; events: number; truncatedBytes: number },
  warnings: TraceWarning[],
): boolean {
  const source = processOf(input);
  if (!result.written) {
    warnings.push({ source, message: "ended before writing any trace data" });
    return false;
  }
  if (!result.ended) {
    const lost = result.truncatedBytes > 0 ? ` (lost its last ${result.truncatedBytes} bytes)` : "";
    warnings.push({
      source,
      message: `ended without its end record (killed?): kept ${result.events} events${lost}`,
    });
  }
  return true;
}

/** The raw files of `rawDir` in pid order, each with the JSON path it gets in `jsonDir`. */
export async function rawInputs(
  rawDir: string,
  options: ConvertRawFilesOptions,
): Promise<RawInput[]> {
  const rawNames: string[] = [];
  for await (const entry of Deno.readDir(rawDir)) {
    if (entry.isFile && RAW_NAME.test(entry.name)) rawNames.push(entry.name);
  }
  // result_9 < result_10 < result_10_1 (an exec successor after its predecessor).
  const stem = (name: string) => name.slice(0, -".raw".length);
  rawNames.sort((a, b) => stem(a).localeCompare(stem(b), "en", { numeric: true }));
  const names = await jsonNames(rawNames, options.jsonDir);
  const jsonName = (name: string) => names.get(name) ?? defaultJsonName(name);
  return rawNames.map((rawName) => {
    const name = names.get(rawName)!;
    if (name !== defaultJsonName(rawName)) {
      options.report(
        `${defaultJsonName(rawName)} already exists in ${options.jsonDir}: wrote ${name}`,
      );
    }
    return { rawPath: join(rawDir, rawName), path: join(options.jsonDir, name), jsonName };
  });
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
