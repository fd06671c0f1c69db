/**
 * `tracer --write_api DIR`: writes `tracer_api.py`, the in-program API module every traced process
 * can import, into DIR, so that a program that uses it also runs without tracer (every call then
 * does nothing).
 * @module
 */
import { join } from "node:path";
import { TracerError } from "../errors.ts";
import { SHIM_FILES } from "../run/shim.ts";
import type { WriteApiCommand } from "./args.ts";

/** The module's file name (what `import tracer_api` finds). */
export const API_FILE = "tracer_api.py";

/** Writes DIR/tracer_api.py (created exclusively: an existing file is never replaced). */
export async function writeApi(command: WriteApiCommand, report: (line: string) => void) {
  const path = join(command.dir, API_FILE);
  try {
    await Deno.writeTextFile(path, SHIM_FILES[API_FILE], { createNew: true, mode: 0o644 });
  } catch (error) {
    const why = error instanceof Deno.errors.AlreadyExists
      ? "it exists (remove it first to replace it)"
      : (error as Error).message;
    throw new TracerError(`cannot write ${path}: ${why}`, { cause: error });
  }
  report(`tracer: wrote ${path}`);
  return 0;
}
