/**
 * The run configuration handed to the Python shim: a JSON file in the run's private dir, whose
 * path is in the `TRACER_CONFIG` environment variable. Mirrors `py/_tracer/config.py`; see
 * docs/internals.md.
 * @module
 */
import { join, resolve } from "node:path";
import { pidNamespace } from "./run_dir.ts";
import optionsTable from "../../py/_tracer/options.json" with { type: "text" };

/** Name of the environment variable that enables the shim and names its config file. */
export const CONFIG_ENV = "TRACER_CONFIG";

/** Set (to "1") for the root process only: it is the one that says which core records. */
export const ROOT_ENV = "TRACER_ROOT";

/** `--core`: which recording core the shim uses (py/_tracer/core.py). */
export type CoreChoice = "auto" | "python" | "native";

/** How a recording option's command-line value is parsed (lib/cli/args.ts has one parser each). */
export type RecordingType =
  | "flag"
  | "flag_off"
  | "depth"
  | "paths"
  | "duration"
  | "seconds"
  | "count"
  | "choice";

/** A recording option's value in the configuration. */
export type RecordingValue = boolean | number | string | string[];

/** One row of the recording option table (`py/_tracer/options.json`). */
export interface RecordingOption {
  /** The command-line name, after `--`. */
  readonly flag: string;
  /** The configuration key the shim reads. */
  readonly key: string;
  readonly type: RecordingType;
  /** The value when the option is not given (also the shim's default). */
  readonly default: RecordingValue;
  /** The value's placeholder in the help; absent for a flag. */
  readonly value?: string;
  /** The accepted values of a `choice`. */
  readonly choices?: readonly string[];
  /** The help line's text; `{default}` is replaced by the default. */
  readonly help: string;
}

/**
 * The recording options, declared once in `py/_tracer/options.json`: the CLI parses and documents
 * them from this table and writes every key into the configuration, and the shim reads the same
 * file for their types and defaults.
 */
export const RECORDING_OPTIONS: readonly RecordingOption[] =
  (JSON.parse(optionsTable) as { options: RecordingOption[] }).options;

/** The text of the option table, as the shim gets it. */
export const OPTIONS_TABLE_TEXT: string = optionsTable;

/** The recording options' values, by configuration key (every key of the table). */
export type RecordingConfig = Readonly<Record<string, RecordingValue>>;

/** Every recording option at its default. */
export function defaultRecording(): Record<string, RecordingValue> {
  return Object.fromEntries(RECORDING_OPTIONS.map((option) => [option.key, option.default]));
}

/** What every traced process reads at start-up. */
export interface ShimConfig {
  version: 1;
  /** Unique per run; lets the CLI find the run's processes still alive after the root exits. */
  run_id: string;
  /** Absolute, existing directory; every process writes `result_<pid>.raw` here (docs/internals.md). */
  output_dir: string;
  /** Absolute path of the directory holding `sitecustomize.py` and `_tracer/`. */
  shim_dir: string;
  /** The tracer CLI's pid: once it is gone, processes stop recording (nobody would read it). */
  tracer_pid?: number;
  /**
   * The PID namespace `tracer_pid` is a pid of (`/proc/self/ns/pid`'s link): a run in another one
   * (a container, `unshare --pid`) sharing TMPDIR is not judged by pids it cannot see.
   */
  tracer_pid_ns?: string;
  /** The recording options (RECORDING_OPTIONS' keys); the shim takes a missing one's default. */
  [key: string]: RecordingValue | undefined;
}

/**
 * The configuration of a run (or an attach) recording with `recording` into `dataDir`, the shim
 * in `shimDir`: every `paths` option's paths made absolute (the shim's cwd varies), this CLI's
 * pid and PID namespace (processes stop recording once it is gone).
 */
export function shimConfigFor(
  recording: RecordingConfig,
  dataDir: string,
  shimDir: string,
): ShimConfig {
  return {
    version: 1,
    run_id: crypto.randomUUID(),
    output_dir: dataDir,
    shim_dir: shimDir,
    ...Object.fromEntries(RECORDING_OPTIONS.map(({ key, type }) => {
      const value = recording[key];
      return [key, type === "paths" ? (value as string[]).map((path) => resolve(path)) : value];
    })),
    tracer_pid: Deno.pid,
    tracer_pid_ns: pidNamespace() ?? undefined,
  };
}

/** Writes `config` as `dir/config.json` (created exclusively, 0600); returns its path. */
export async function writeConfig(dir: string, config: ShimConfig): Promise<string> {
  const path = join(dir, "config.json");
  await Deno.writeTextFile(path, JSON.stringify(config), { mode: 0o600, createNew: true });
  return path;
}
