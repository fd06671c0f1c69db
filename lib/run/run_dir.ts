/**
 * The run's private temp dir (0700, under TMPDIR): the shim and the data dir the traced processes
 * write into. Named `tracer_run_*`; a dir whose data tracer keeps after an interrupted write is
 * renamed `tracer_kept_*`, so it is never mistaken for a run's leftover.
 * @module
 */
import { TracerError } from "../errors.ts";

/** The name prefix of a run's temp dir. */
export const RUN_DIR_PREFIX = "tracer_run_";

/** The name prefix of a run's data dir kept for `tracer --combine` after an interrupted write. */
export const KEPT_DIR_PREFIX = "tracer_kept_";

/** Creates the run dir; a full or unwritable TMPDIR is a `TracerError` saying what to do. */
export async function makeRunDir(): Promise<string> {
  try {
    return await Deno.makeTempDir({ prefix: RUN_DIR_PREFIX });
  } catch (error) {
    throw new TracerError(
      `cannot create a temp dir in ${tempRoot()} (${
        (error as Error).message
      }); free space there or set TMPDIR to another directory`,
      { cause: error },
    );
  }
}

/** The directory temp dirs go to (TMPDIR, else /tmp). */
export function tempRoot(): string {
  return Deno.env.get("TMPDIR") || "/tmp";
}
