/**
 * tracer's options, declared once: parsing (lib/cli/args.ts) and the `--help` text are derived
 * from this table.
 * @module
 */
import { RECORDING_OPTIONS, type RecordingOption } from "../run/shim_config.ts";

/** One command-line option. */
export interface OptionSpec {
  /** The name after `--` (dashes are accepted for underscores); what the parser calls it. */
  readonly name: string;
  /** A one-letter form such as `-o`. */
  readonly short?: string;
  /** False for an option that has only its short form (`-m`, `-c`). */
  readonly long?: false;
  /** Other long names that mean the same (listed on the same help line). */
  readonly aliases?: readonly string[];
  /** The value's placeholder in the help (`PATH`, `N`); set for an option that takes a value. */
  readonly value?: string;
  /** The help section, or undefined for options the usage lines explain instead. */
  readonly section?: "Output" | "Recording" | "Combine" | "Attach" | "";
  /** The help line's text. */
  readonly help?: string;
  /** The row of the recording option table it sets (a value the shim reads). */
  readonly recording?: RecordingOption;
}

/** The options of the CLI itself, in help order within each section; the recording options come
 * from their table after `--python`. */
const CLI_OPTIONS = [
  {
    name: "output_file",
    short: "-o",
    value: "PATH",
    section: "Output",
    help: "result file: .html (report, default result.html), .json, .json.gz",
  },
  {
    name: "output_dir",
    value: "DIR",
    section: "Output",
    help: "directory for the output (and for --pid_suffix files)",
  },
  {
    name: "pid_suffix",
    section: "Output",
    help: "keep one file per process, DIR/result_<pid>.json, no combining",
  },
  { name: "quiet", short: "-q", section: "Output", help: "no summary line" },
  {
    name: "open",
    section: "Output",
    help: "open the HTML report in the browser once it is written",
  },
  {
    name: "python",
    value: "PATH",
    section: "Recording",
    help: "Python interpreter (default: python3, then python, from PATH)",
  },
  {
    name: "log_subprocess",
    aliases: ["log_multiprocess"],
    section: "Recording",
    help: "accepted for compatibility; children are traced anyway",
  },
  {
    name: "wait_timeout",
    value: "SECONDS",
    section: "Recording",
    help: "how long to wait for traced processes that outlive the root (default 30)",
  },
  { name: "combine" },
  {
    name: "duration",
    value: "SECONDS",
    section: "Attach",
    help: "tracer attach: record this long, then detach (default: until Ctrl-C)",
  },
  {
    name: "align_combine",
    section: "Combine",
    help: "shift each file so its first event starts at 0",
  },
  {
    name: "strict",
    section: "Combine",
    help: "fail on any damaged input instead of salvaging it",
  },
  {
    name: "write_api",
    value: "DIR",
    section: "",
    help: "write tracer_api.py (the in-program API) into DIR, for runs without tracer",
  },
  { name: "help", short: "-h", section: "", help: "this help" },
  { name: "version", section: "", help: "tracer's version" },
  { name: "module", short: "-m", long: false, value: "module" },
  { name: "code", short: "-c", long: false, value: "code" },
  { name: "run" },
] as const satisfies readonly OptionSpec[];

/** A recording option as a command-line option. */
function recordingSpec(option: RecordingOption): OptionSpec {
  return {
    name: option.flag,
    value: option.value,
    section: "Recording",
    help: option.help.replace("{default}", String(option.default)),
    recording: option,
  };
}

/** Every option tracer knows, in help order within each section. */
export const OPTIONS: readonly OptionSpec[] = CLI_OPTIONS.flatMap((option) =>
  option.name === "python" ? [option, ...RECORDING_OPTIONS.map(recordingSpec)] : [option]
);

/** An option's name, as the parser reports it: the CLI's own, or a recording option's flag. */
export type Flag = (typeof CLI_OPTIONS)[number]["name"] | RecordingOption["flag"];

const HELP_COLUMN = 22;

function helpLine(option: OptionSpec): string {
  const longs = [option.name, ...option.aliases ?? []].map((name) => `--${name}`);
  const names = [...option.short === undefined ? [] : [option.short], ...longs].join(", ");
  const label = option.value === undefined ? names : `${names} ${option.value}`;
  return `  ${label.padEnd(HELP_COLUMN)}   ${option.help}`;
}

function helpSections(options: readonly OptionSpec[]): string {
  const sections = new Map<string, string[]>();
  for (const option of options) {
    if (option.section === undefined) continue;
    const lines = sections.get(option.section) ?? [];
    lines.push(helpLine(option));
    sections.set(option.section, lines);
  }
  return [...sections].map(([title, lines]) => title === "" ? lines : [`${title}:`, ...lines])
    .map((lines) => lines.join("\n")).join("\n\n");
}

/** The `--help` text. */
export const HELP = `tracer: trace every thread of every Python process on one timeline

Usage:
  tracer [options] script.py [args...]     run and trace a script
  tracer [options] -m module [args...]     run and trace a module
  tracer [options] -c "code" [args...]     run and trace Python code
  tracer [options] CMD [args...]           run a command (pytest, torchrun, mpirun, a shell
                                           script...) and trace every Python process below it
  tracer --combine FILE|DIR... [-o OUT]    merge trace files (Chrome Trace Event JSON, .json.gz)
  tracer attach PID [options]              record a running CPython 3.14+ process (Linux), then
                                           detach: it runs on as before

${helpSections(OPTIONS)}

Everything after the script or command (or -m module, -c code, --) belongs to the traced program.
A first argument that is not a Python source file (*.py, or a file that is not executable) is a
command, found on PATH as a shell would find it (use -- when it starts with a dash).`;
