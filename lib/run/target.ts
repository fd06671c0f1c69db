/**
 * What a run traces: the program tracer starts.
 * @module
 */

/**
 * What the traced program is: `script.py args`, `-m module args`, `-c code args`, or any other
 * command (a console script, a launcher, a shell script), which runs as it is. The first argument
 * (after `--` too, as VizTracer reads it) is parsed as a script; lib/cli/trace_command.ts makes it
 * a command when it is not a Python source file (telling needs the file system).
 */
export type Target =
  | { kind: "script"; path: string; args: string[] }
  | { kind: "module"; name: string; args: string[] }
  | { kind: "code"; code: string; args: string[] }
  | { kind: "command"; program: string; args: string[] };
