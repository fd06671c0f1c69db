/**
 * The one summary line tracer prints at the end, and the warning lines before it.
 * @module
 */
import type { CombineStats, TraceWarning } from "../trace_event.ts";
import type { Replaced } from "../report/output_file.ts";

/** Where the result went. */
export interface WrittenOutput {
  path: string;
  bytes: number;
  /** What was at the path before: a file, or a symlink (replaced itself, its target untouched). */
  replaced: Replaced;
}

/** `tracer: 3 processes, 7 threads, 12,345 events (10 dropped) -> result.html (1.2 MiB)`. */
export function summaryLine(stats: CombineStats, output: WrittenOutput): string {
  const parts = [
    count(stats.processes, "process", "processes"),
    count(stats.threads, "thread", "threads"),
    count(stats.events, "event", "events") +
    (stats.droppedEvents > 0 ? ` (${grouped(stats.droppedEvents)} dropped)` : ""),
  ];
  const replaced = output.replaced === "file"
    ? ", replaced the previous file"
    : output.replaced === "symlink"
    ? ", replaced the symbolic link there (its target is untouched)"
    : "";
  return `tracer: ${parts.join(", ")} -> ${output.path} (${formatBytes(output.bytes)}${replaced})`;
}

/**
 * The line said even with --quiet when the output replaced something (data already written is
 * never overwritten without a word), else null.
 */
export function replacedLine(output: WrittenOutput): string | null {
  if (output.replaced === null) return null;
  const what = output.replaced === "file"
    ? "the previous file"
    : "the symbolic link there (its target is untouched)";
  return `tracer: ${output.path} replaced ${what}`;
}

/** `tracer: warning: <source>: <message>`. */
export function warningLine(warning: TraceWarning): string {
  return `tracer: warning: ${warning.source ? warning.source + ": " : ""}${warning.message}`;
}

function count(n: number, one: string, many: string): string {
  return `${grouped(n)} ${n === 1 ? one : many}`;
}

/**
 * 1234567 -> "1,234,567". Not `toLocaleString`: its first call loads ICU data, ~25 ms of every run.
 */
export function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** 1536 -> "1.5 KiB": binary units, named as such (they were MiB labelled "MB"). */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * The warning for events the report left out (`skipped`, by phase), or null: an event whose time
 * is no finite number of microseconds (NaN, Infinity, past 2^53 ns), an `E` without its `B`, a
 * phase the report does not draw.
 */
export function skippedLine(skipped: Record<string, number> | undefined): string | null {
  const phases = Object.entries(skipped ?? {});
  if (phases.length === 0) return null;
  const total = phases.reduce((sum, [, n]) => sum + n, 0);
  const each = phases.map(([ph, n]) => `${grouped(n)} "${ph}"`).join(", ");
  return `tracer: warning: the report leaves out ${count(total, "event", "events")} (${each}): ` +
    "a time that is not a finite number of microseconds, an end without its begin, or a phase it does not draw";
}
