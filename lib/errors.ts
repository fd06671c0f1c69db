/**
 * Errors tracer reports to the user as one line on stderr, and their formatting.
 * @module
 */

/** Bad command-line input: exit status 2. */
export class UsageError extends Error {
  /** Creates a usage error with a one-line message that says what to do. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/** A failure tracer understands (unreadable input, unwritable output, ...): exit status 1. */
export class TracerError extends Error {
  /** Creates an error with a one-line message; keep the original error as `cause`. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TracerError";
  }
}

/** Exit status for an error: 2 for usage errors, 1 otherwise. */
export function exitCodeFor(error: unknown): number {
  return error instanceof UsageError ? 2 : 1;
}

/**
 * A path (or any user text) as an error line quotes it: at most ~80 characters, the start and end
 * kept (the end names the file), so a 100 KB name still gives a readable line.
 */
export function shortened(text: string, max = 80): string {
  if (text.length <= max) return text;
  const half = Math.floor((max - 3) / 2);
  return `${text.slice(0, half)}...${text.slice(text.length - half)}`;
}

/**
 * A line as it may reach a terminal: every control character (C0, DEL, C1), which data and file
 * names can hold, is written as an escape (`\x1b`, `\n`, `\u009b`), so a trace cannot clear the
 * screen, set the window title or split a message over lines.
 */
export function terminalText(line: string): string {
  // deno-lint-ignore no-control-regex
  return line.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => {
    const code = char.charCodeAt(0);
    return SHORT_ESCAPES[char] ??
      (code < 0x80
        ? `\\x${code.toString(16).padStart(2, "0")}`
        : `\\u${code.toString(16).padStart(4, "0")}`);
  });
}

const SHORT_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * Why a system call failed, without the path Deno's message appends (`File exists (os error 17):
 * open '/x'` -> `File exists (os error 17)`): the line names the path itself, shortened.
 */
export function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return shortened(message.replace(/(\(os error \d+\)).*$/s, "$1"), 200);
}

/** One line for stderr: `tracer: <message>`, without a stack trace for errors tracer knows. */
export function formatError(error: unknown): string {
  if (error instanceof UsageError || error instanceof TracerError) {
    return `tracer: ${error.message}`;
  }
  const message = error instanceof Error ? error.message : String(error);
  // A failed system call (a full disk, a directory removed meanwhile) is the machine's state,
  // not a bug in tracer: say it as it is.
  if (/\(os error \d+\)/.test(message)) return `tracer: ${shortened(message.split("\n")[0], 300)}`;
  return `tracer: internal error: ${shortened(message.split("\n")[0], 300)} (please report this)`;
}
