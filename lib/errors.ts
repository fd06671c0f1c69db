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

/** One line for stderr: `tracer: <message>`, without a stack trace for errors tracer knows. */
export function formatError(error: unknown): string {
  if (error instanceof UsageError || error instanceof TracerError) {
    return `tracer: ${error.message}`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `tracer: internal error: ${message.split("\n")[0]} (please report this)`;
}
