/**
 * tracer's options, declared once: parsing (lib/cli/args.ts) and the `--help` text are derived
 * from this table.
 * @module
 */
import { DEFAULT_TRACER_ENTRIES } from "../run/shim_config.ts";

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
  readonly section?: "Output" | "Recording" | "Combine" | "";
  /** The help line's text. */
  readonly help?: string;
}

/** Every option tracer knows, in help order within each section. */
export const OPTIONS = [
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
    name: "ignore_c_function",
    section: "Recording",
    help: "do not record calls into C functions",
  },
  {
    name: "max_stack_depth",
    value: "N",
    section: "Recording",
    help: "do not record calls deeper than N",
  },
  {
    name: "include_files",
    value: "PATH",
    section: "Recording",
    help: "record only code under PATH (repeatable)",
  },
  {
    name: "exclude_files",
    value: "PATH",
    section: "Recording",
    help: "do not record code under PATH (repeatable); its callees still are",
  },
  {
    name: "min_duration",
    value: "TIME",
    section: "Recording",
    help: "drop calls shorter than TIME (e.g. 5us, 0.2ms)",
  },
  {
    name: "tracer_entries",
    value: "N",
    section: "Recording",
    help: `per-process event cap (default ${DEFAULT_TRACER_ENTRIES})`,
  },
  {
    name: "core",
    value: "auto|python|native",
    section: "Recording",
    help: "recording core (default auto: native when built for the Python)",
  },
  {
    name: "ignore_multiprocess",
    section: "Recording",
    help: "trace only the root process, not its children",
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
    name: "align_combine",
    section: "Combine",
    help: "shift each file so its first event starts at 0",
  },
  {
    name: "strict",
    section: "Combine",
    help: "fail on any damaged input instead of salvaging it",
  },
  { name: "help", short: "-h", section: "", help: "this help" },
  { name: "version", section: "", help: "tracer's version" },
  { name: "module", short: "-m", long: false, value: "module" },
  { name: "code", short: "-c", long: false, value: "code" },
  { name: "run" },
] as const satisfies readonly OptionSpec[];

/** An option's name, as the parser reports it. */
export type Flag = (typeof OPTIONS)[number]["name"];

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

${helpSections(OPTIONS)}

Everything after the script or command (or -m module, -c code, --) belongs to the traced program.
A first argument that is not a Python source file (*.py, or a file that is not executable) is a
command, found on PATH as a shell would find it (use -- when it starts with a dash).`;
