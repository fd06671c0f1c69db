/**
 * Where tracer's own lines go.
 * @module
 */

/** Takes one line of tracer's own output (stderr in the CLI: warnings, notes, the summary). */
export type Reporter = (line: string) => void;
