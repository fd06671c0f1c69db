/**
 * The run's private temp dir (0700, under TMPDIR): the shim and the data dir the traced processes
 * write into. Named `tracer_run_*`; a dir whose data tracer keeps after an interrupted write is
 * renamed `tracer_kept_*`, so it is never mistaken for a run's leftover.
 * @module
 */
import { join } from "node:path";
import { TracerError } from "../errors.ts";
import { PENDING_ATTACH_FILE } from "./attach.ts";

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

/**
 * Removes what runs that died without cleaning up (tracer SIGKILLed) left in TMPDIR: only
 * `tracer_run_*` directories (not symlinks) owned by this user, whose config names a tracer pid
 * of this PID namespace that no longer exists, and that hold no attach script a live process may
 * still read. Linux only (elsewhere a pid cannot be checked without a process API).
 * Returns the directories removed; never throws.
 */
export async function removeDeadRuns(root = tempRoot()): Promise<string[]> {
  if (Deno.build.os !== "linux") return [];
  const removed: string[] = [];
  const uid = Deno.uid();
  try {
    for await (const entry of Deno.readDir(root)) {
      if (!entry.isDirectory || !entry.name.startsWith(RUN_DIR_PREFIX)) continue;
      const dir = join(root, entry.name);
      try {
        const info = await Deno.lstat(dir);
        if (!info.isDirectory || info.uid !== uid) continue;
        const config = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
        const pid = tracerPidOf(config);
        if (
          pid === null || pid === Deno.pid || !samePidNamespace(config) ||
          await alive(pid) || await attachPending(dir)
        ) {
          continue;
        }
        await Deno.remove(dir, { recursive: true });
        removed.push(dir);
      } catch { /* not provably a dead run: leave it */ }
    }
  } catch { /* TMPDIR unreadable: nothing to clean */ }
  return removed;
}

async function alive(pid: number): Promise<boolean> {
  return await Deno.stat(`/proc/${pid}`).then(() => true, () => false);
}

/**
 * True while the process a `tracer attach` left its (emptied) script for still lives: it reads
 * the script whenever it next runs Python code (lib/run/attach.ts).
 */
async function attachPending(dir: string): Promise<boolean> {
  const text = await Deno.readTextFile(join(dir, PENDING_ATTACH_FILE)).catch(() => null);
  if (text === null) return false;
  const pid = Number(text.trim());
  return !Number.isSafeInteger(pid) || pid <= 0 || await alive(pid);
}

function tracerPidOf(config: { tracer_pid?: unknown }): number | null {
  const pid = config.tracer_pid;
  return typeof pid === "number" && Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/**
 * True when a run's tracer pid is one of this namespace's (a config from before the field was
 * written counts as such). A run made in another PID namespace that shares TMPDIR (a container,
 * `unshare --pid`) is never removed: its tracer's pid means nothing here.
 */
function samePidNamespace(config: { tracer_pid_ns?: unknown }): boolean {
  return config.tracer_pid_ns === undefined || config.tracer_pid_ns === pidNamespace();
}

/** This process's PID namespace (`pid:[4026531836]`), or null where it cannot be read. */
export function pidNamespace(): string | null {
  try {
    return Deno.readLinkSync("/proc/self/ns/pid");
  } catch {
    return null;
  }
}
