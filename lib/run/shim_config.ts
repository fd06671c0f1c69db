/**
 * The run configuration handed to the Python shim: a JSON file in the run's private dir, whose
 * path is in the `TRACER_CONFIG` environment variable. Mirrors `py/_tracer/config.py`; see
 * docs/internals.md.
 * @module
 */
import { join } from "node:path";

/** Name of the environment variable that enables the shim and names its config file. */
export const CONFIG_ENV = "TRACER_CONFIG";

/** Set (to "1") for the root process only: it is the one that says which core records. */
export const ROOT_ENV = "TRACER_ROOT";

/** `--core`: which recording core the shim uses (py/_tracer/core.py). */
export type CoreChoice = "auto" | "python" | "native";

/** What every traced process reads at start-up. */
export interface ShimConfig {
  version: 1;
  /** Unique per run; lets the CLI find the run's processes still alive after the root exits. */
  run_id: string;
  /** Absolute, existing directory; every process writes `result_<pid>.raw` here (docs/internals.md). */
  output_dir: string;
  /** Absolute path of the directory holding `sitecustomize.py` and `_tracer/`. */
  shim_dir: string;
  ignore_c_function: boolean;
  /** -1 for no limit. */
  max_stack_depth: number;
  /** Absolute path prefixes. */
  include_files: string[];
  /** Absolute path prefixes. */
  exclude_files: string[];
  /** 0 keeps every call. */
  min_duration_us: number;
  /** Per-process cap on recorded events. */
  tracer_entries: number;
  /** False: the root process does not pass the shim on to its children. */
  trace_children: boolean;
  /** Recording core; absent means "auto" (native when a library matches, else Python). */
  core?: CoreChoice;
  /** The tracer CLI's pid: once it is gone, processes stop recording (nobody would read it). */
  tracer_pid?: number;
  /**
   * The PID namespace `tracer_pid` is a pid of (`/proc/self/ns/pid`'s link): a run in another one
   * (a container, `unshare --pid`) sharing TMPDIR is not judged by pids it cannot see.
   */
  tracer_pid_ns?: string;
}

/** Default per-process event cap (`--tracer_entries`). */
export const DEFAULT_TRACER_ENTRIES = 5_000_000;

/** Writes `config` as `dir/config.json` (created exclusively, 0600); returns its path. */
export async function writeConfig(dir: string, config: ShimConfig): Promise<string> {
  const path = join(dir, "config.json");
  await Deno.writeTextFile(path, JSON.stringify(config), { mode: 0o600, createNew: true });
  return path;
}
