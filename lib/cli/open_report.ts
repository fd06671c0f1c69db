/**
 * `--open`: shows the written HTML report in the user's browser through the platform's opener,
 * started directly with an argument array (no shell), not waited for.
 * @module
 */
import type { Reporter } from "./_reporter.ts";
import type { OutputSpec } from "../report/output_spec.ts";

/** After writing `spec` to `path`: opens it when `--open` was given and it is an HTML report. */
export function openIfAsked(open: boolean, spec: OutputSpec, path: string, report: Reporter) {
  if (!open) return;
  if (spec.format === "html") openReport(path, report);
  else report(`tracer: --open shows HTML reports only; ${path} is ${spec.format}`);
}

/** The opener for an OS: `open` on macOS, `explorer.exe` on Windows, `xdg-open` elsewhere. */
export function openerFor(os: typeof Deno.build.os): string {
  return os === "darwin" ? "open" : os === "windows" ? "explorer.exe" : "xdg-open";
}

/**
 * Starts the opener on `path`. When it cannot be started, says so in one line; the run's exit
 * status never depends on it.
 */
export function openReport(path: string, report: Reporter, opener = openerFor(Deno.build.os)) {
  try {
    const child = new Deno.Command(opener, {
      args: [path],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    // The opener may stay until the browser exits (xdg-open without a desktop): do not wait.
    child.unref();
    child.status.catch(() => {});
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound ? "not found" : (error as Error).message;
    report(`tracer: cannot open the report in a browser (${opener}: ${why}); open ${path}`);
  }
}
