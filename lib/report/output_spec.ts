/**
 * What the output is: its path and format, as the command line asked for it.
 * @module
 */

/** The kinds of output file tracer writes, chosen by the `-o` extension. */
export type OutputFormat = "html" | "json" | "json.gz";

/** Where the result goes. */
export interface OutputSpec {
  /** Output path as given (relative to `dir` when relative and `dir` is set). */
  path: string;
  format: OutputFormat;
}
