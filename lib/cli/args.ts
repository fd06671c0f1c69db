/**
 * Command-line parsing: argv -> one `Command`, by the option table of lib/cli/options.ts. Pure (no
 * I/O), so every rule is unit-tested.
 * Flag names follow VizTracer's spelling. Everything after the script or command (or `-m module`,
 * `-c code`, `--`) belongs to the traced program, including arguments that look like options.
 * @module
 */
import { shortened, UsageError } from "../errors.ts";
import {
  RECORDING_OPTIONS,
  type RecordingConfig,
  type RecordingOption,
  type RecordingType,
  type RecordingValue,
} from "../run/shim_config.ts";
import { type Flag, OPTIONS, type OptionSpec } from "./options.ts";
import type { Target } from "../run/target.ts";
import type { OutputSpec } from "../report/output_spec.ts";

/** `tracer [options] script.py args...`: run and trace. */
export interface RunCommand {
  kind: "run";
  target: Target;
  /** One combined output file, or `null` with `--pid_suffix` (per-process files are the result). */
  output: OutputSpec | null;
  /** `--output_dir`, or null. */
  outputDir: string | null;
  python: string | null;
  /** The recording options handed to the shim, by configuration key (every key of the table). */
  recording: RecordingConfig;
  waitTimeoutS: number;
  quiet: boolean;
  /** `--open`: open the HTML report in the browser. */
  open: boolean;
}

/** `tracer --combine FILE... [-o OUT]`: merge trace files. */
export interface CombineCommand {
  kind: "combine";
  inputs: string[];
  output: OutputSpec;
  outputDir: string | null;
  align: boolean;
  strict: boolean;
  quiet: boolean;
  /** `--open`: open the HTML report in the browser. */
  open: boolean;
}

/** `tracer attach PID [options]`: record a running process for a while, then detach. */
export interface AttachCommand {
  kind: "attach";
  pid: number;
  /** `--duration`: seconds to record; null: until a termination signal (Ctrl-C). */
  durationS: number | null;
  output: OutputSpec;
  outputDir: string | null;
  /** The interpreter that sends the scripts; null: the process's own. */
  python: string | null;
  recording: RecordingConfig;
  quiet: boolean;
  open: boolean;
}

/** `tracer --write_api DIR`: write the in-program API module into DIR. */
export interface WriteApiCommand {
  kind: "write_api";
  dir: string;
}

/** Everything tracer can be asked to do. */
export type Command =
  | RunCommand
  | CombineCommand
  | AttachCommand
  | WriteApiCommand
  | { kind: "help" }
  | { kind: "version" };

/** The default output file name: the HTML report. */
export const DEFAULT_OUTPUT = "result.html";

type Option = OptionSpec & { name: Flag };

/** Long names (and aliases) -> their option. */
const BY_NAME = new Map<string, Option>();
/** `-o` -> its option. */
const BY_SHORT = new Map<string, Option>();
for (const option of OPTIONS as readonly Option[]) {
  if (option.short !== undefined) BY_SHORT.set(option.short, option);
  if (option.long === false) continue;
  for (const name of [option.name, ...option.aliases ?? []]) BY_NAME.set(name, option);
}

/** Parses tracer's argv (without the executable) into a `Command`; throws `UsageError`. */
export function parseArgs(argv: string[]): Command {
  const values = new Map<Flag, string[]>();
  const seen = new Set<Flag>();
  let target: Target | null = null;
  const positional: string[] = [];
  // `tracer attach PID`: a word, not an option (`tracer ./attach` or `-- attach` runs a file).
  const attach = argv[0] === "attach";

  for (let i = attach ? 1 : 0; i < argv.length; i++) {
    const arg = argv[i];
    if (attach && (!arg.startsWith("-") || /^-\d/.test(arg))) {
      positional.push(arg);
      continue;
    }
    if (arg === "--" || arg === "--run") {
      target = scriptTarget(argv.slice(i + 1), arg);
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      if (seen.has("combine")) {
        positional.push(arg);
        continue;
      }
      target = scriptTarget(argv.slice(i), arg);
      break;
    }
    const { option, inline } = optionOf(arg);
    const flag = option.name;
    seen.add(flag);
    if (option.value === undefined) {
      if (inline !== undefined) throw new UsageError(`option ${shortened(arg)} takes no value`);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`option ${shortened(arg)} needs a value`);
      value = argv[++i];
    }
    if (flag === "module" || flag === "code") {
      const rest = argv.slice(i + 1);
      target = flag === "module"
        ? { kind: "module", name: value, args: rest }
        : { kind: "code", code: value, args: rest };
      break;
    }
    values.set(flag, [...(values.get(flag) ?? []), value]);
  }

  if (seen.has("help")) return { kind: "help" };
  if (seen.has("version")) return { kind: "version" };
  const apiDir = last(values, "write_api");
  if (apiDir !== undefined) return { kind: "write_api", dir: apiDir };
  if (attach) return attachCommand(values, seen, positional, target);
  if (seen.has("duration")) throw new UsageError("--duration only applies to tracer attach");
  if (seen.has("combine")) return combineCommand(values, seen, positional, target);
  if (target === null) {
    throw new UsageError(
      "no script to trace; usage: tracer [options] script.py [args...] (see --help)",
    );
  }
  return runCommand(values, seen, target);
}

function optionOf(arg: string): { option: Option; inline?: string } {
  const short = BY_SHORT.get(arg);
  if (short !== undefined) return { option: short };
  if (arg.startsWith("--")) {
    const eq = arg.indexOf("=");
    const name = (eq === -1 ? arg.slice(2) : arg.slice(2, eq)).replaceAll("-", "_");
    const option = BY_NAME.get(name);
    if (option !== undefined) {
      return { option, inline: eq === -1 ? undefined : arg.slice(eq + 1) };
    }
  }
  throw new UsageError(
    `unknown option ${shortened(arg)}; run tracer --help for the list of options`,
  );
}

function scriptTarget(rest: string[], after: string): Target {
  if (rest.length === 0) {
    throw new UsageError(`no script after ${after}; usage: tracer [options] script.py [args...]`);
  }
  return { kind: "script", path: rest[0], args: rest.slice(1) };
}

function runCommand(values: Map<Flag, string[]>, seen: Set<Flag>, target: Target): RunCommand {
  for (const flag of ["align_combine", "strict"] as const) {
    if (seen.has(flag)) throw new UsageError(`--${flag} only applies to --combine`);
  }
  const pidSuffix = seen.has("pid_suffix");
  const outputPath = last(values, "output_file");
  if (pidSuffix && outputPath !== undefined) {
    throw new UsageError(
      "--pid_suffix writes one file per process and cannot be combined with -o; drop one of them",
    );
  }
  return {
    kind: "run",
    target,
    output: pidSuffix ? null : outputSpec(outputPath ?? DEFAULT_OUTPUT),
    outputDir: last(values, "output_dir") ?? null,
    python: last(values, "python") ?? null,
    recording: recordingConfig(values, seen),
    waitTimeoutS: seconds(last(values, "wait_timeout")),
    quiet: seen.has("quiet"),
    open: seen.has("open"),
  };
}

function combineCommand(
  values: Map<Flag, string[]>,
  seen: Set<Flag>,
  positional: string[],
  target: Target | null,
): CombineCommand {
  const inputs = [...positional];
  if (target?.kind === "script") inputs.push(target.path, ...target.args);
  else if (target !== null) throw new UsageError("--combine takes trace files, not -m or -c");
  if (inputs.length === 0) {
    throw new UsageError("--combine needs at least one trace file or directory");
  }
  return {
    kind: "combine",
    inputs,
    output: outputSpec(last(values, "output_file") ?? DEFAULT_OUTPUT),
    outputDir: last(values, "output_dir") ?? null,
    align: seen.has("align_combine"),
    strict: seen.has("strict"),
    quiet: seen.has("quiet"),
    open: seen.has("open"),
  };
}

function attachCommand(
  values: Map<Flag, string[]>,
  seen: Set<Flag>,
  positional: string[],
  target: Target | null,
): AttachCommand {
  const usage = "usage: tracer attach PID [--duration SECONDS] [-o OUT] [options]";
  if (target !== null) throw new UsageError(`tracer attach takes a pid, not a program; ${usage}`);
  for (
    const flag of [
      "combine",
      "align_combine",
      "strict",
      "pid_suffix",
      "wait_timeout",
      "write_api",
      "log_subprocess",
    ] as const
  ) {
    if (seen.has(flag)) throw new UsageError(`--${flag} does not apply to tracer attach`);
  }
  if (positional.length !== 1) {
    throw new UsageError(
      `${positional.length === 0 ? "no pid" : "more than one pid"} given; ${usage}`,
    );
  }
  const pid = Number(positional[0]);
  if (!/^\d+$/.test(positional[0]) || !Number.isSafeInteger(pid) || pid < 1) {
    throw new UsageError(`not a process id: "${shortened(positional[0])}"; ${usage}`);
  }
  const duration = last(values, "duration");
  const durationS = duration === undefined ? null : seconds(duration, "duration");
  if (durationS === 0) throw new UsageError("--duration needs a number of seconds > 0, got 0");
  return {
    kind: "attach",
    pid,
    durationS,
    output: outputSpec(last(values, "output_file") ?? DEFAULT_OUTPUT),
    outputDir: last(values, "output_dir") ?? null,
    python: last(values, "python") ?? null,
    recording: recordingConfig(values, seen),
    quiet: seen.has("quiet"),
    open: seen.has("open"),
  };
}

/** The output format for a path, by its extension; throws `UsageError` for anything else. */
export function outputSpec(path: string): OutputSpec {
  const lower = path.toLowerCase();
  if (lower.endsWith(".json.gz")) return { path, format: "json.gz" };
  if (lower.endsWith(".json")) return { path, format: "json" };
  if (lower.endsWith(".html") || lower.endsWith(".htm")) return { path, format: "html" };
  throw new UsageError(
    `cannot tell the output format of ${
      shortened(path)
    }: use a name ending in .html, .json or .json.gz`,
  );
}

function last(values: Map<Flag, string[]>, flag: Flag): string | undefined {
  return values.get(flag)?.at(-1);
}

/** Every recording option's value: as given, else its default. */
function recordingConfig(values: Map<Flag, string[]>, seen: Set<Flag>): RecordingConfig {
  return Object.fromEntries(RECORDING_OPTIONS.map((option) => {
    const given = values.get(option.flag);
    const value = given !== undefined || seen.has(option.flag)
      ? PARSERS[option.type](option, given ?? [])
      : option.default;
    return [option.key, value];
  }));
}

/** The parser of each recording option type: the option and the values given (in order). */
const PARSERS: Record<
  RecordingType,
  (option: RecordingOption, given: string[]) => RecordingValue
> = {
  flag: () => true,
  flag_off: () => false,
  depth: (option, given) => stackDepth(option, given.at(-1)!),
  paths: (_option, given) => given,
  duration: (option, given) => duration(given.at(-1)!, option.flag),
  seconds: (option, given) => positiveSeconds(option, given.at(-1)!),
  count: (option, given) => wholeNumber(option, given.at(-1)!, 1),
  choice: (option, given) => choice(option, given.at(-1)!),
};

function wholeNumber(option: RecordingOption, text: string, min: number): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(
      `--${option.flag} needs a whole number >= ${min}, got "${shortened(text)}"`,
    );
  }
  return value;
}

const UNIT_US: Record<string, number> = { ns: 0.001, us: 1, "µs": 1, ms: 1000, s: 1_000_000 };

/** Parses a duration such as `5us`, `0.5ms`, `100ns` or `20` (microseconds) into microseconds. */
export function duration(text: string, flag = "min_duration"): number {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ns|us|µs|ms|s)?\s*$/.exec(text);
  if (!match) {
    throw new UsageError(
      `--${flag} needs a duration such as 5us, 0.2ms or 100ns, got "${shortened(text)}"`,
    );
  }
  return Number(match[1]) * UNIT_US[match[2] ?? "us"];
}

function choice(option: RecordingOption, text: string): string {
  const choices = option.choices ?? [];
  if (choices.includes(text)) return text;
  const list = choices.length > 1
    ? `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`
    : choices.join("");
  throw new UsageError(`--${option.flag} needs ${list}, got "${shortened(text)}"`);
}

/** `--max_stack_depth`: N >= 1, or -1 (VizTracer's spelling of no limit); 0 would record nothing. */
function stackDepth(option: RecordingOption, text: string): number {
  if (text.trim() === "-1") return -1;
  const value = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(
      `--${option.flag} needs a whole number >= 1 (leave it out for no limit), got "${
        shortened(text)
      }"`,
    );
  }
  return value;
}

/** `--flight S`: decimal seconds > 0 (0, the default, is off and needs no flag). */
function positiveSeconds(option: RecordingOption, text: string): number {
  const value = Number(text);
  if (!/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(text) || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(
      `--${option.flag} needs a number of seconds > 0, got "${shortened(text)}"`,
    );
  }
  return value;
}

/** Decimal seconds only: `Number()` would also take `0x10` (16) or `1e3`. */
function seconds(text: string | undefined, flag = "wait_timeout"): number {
  if (text === undefined) return 30;
  const value = Number(text);
  if (!/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(text) || !Number.isFinite(value)) {
    throw new UsageError(`--${flag} needs a number of seconds >= 0, got "${shortened(text)}"`);
  }
  return value;
}
