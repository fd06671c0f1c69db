/**
 * The DOM around the canvas: warnings banner, details panel, statistics tables. Every string from
 * the trace goes in through textContent only, never as markup.
 * @module
 */
import type { TraceWarning } from "../trace_event.ts";
import { ARGUMENTS, VALUE_ROWS } from "./details.ts";
import { type FunctionStats, sortStats, type StatsKey } from "./stats.ts";
import { formatDuration } from "./time_scale.ts";

/** Shortcut for `document.getElementById` that throws when the element is missing. */
export function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`viewer page lacks #${id}`);
  return element as T;
}

/** Creates an element with text content (never markup) and an optional class. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text = "",
  className = "",
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (text) element.textContent = text;
  if (className) element.className = className;
  return element;
}

/** Fills the warnings banner (hidden when there are none). */
export function showWarnings(lines: { text: string; source?: string }[]): void {
  const box = byId("warnings");
  box.replaceChildren();
  if (lines.length === 0) {
    box.hidden = true;
    return;
  }
  const summary = el("summary", `⚠ ${lines.length} warning${lines.length === 1 ? "" : "s"}`);
  const details = el("details");
  details.append(summary);
  const list = el("ul");
  for (const line of lines) {
    const item = el("li", line.text);
    if (line.source) item.prepend(el("span", line.source + ": ", "source"));
    list.append(item);
  }
  details.append(list);
  details.open = lines.length <= 3;
  box.append(details);
  box.hidden = false;
}

/** The warning lines to show: run/combine warnings plus what the report itself noticed. */
export function warningLines(
  warnings: TraceWarning[],
  extra: { dropped: number; salvaged: number; skipped: Record<string, number> },
): { text: string; source?: string }[] {
  const lines: { text: string; source?: string }[] = warnings.map((w) => ({
    text: w.message,
    source: w.source,
  }));
  if (extra.dropped > 0) {
    lines.unshift({
      text: `${extra.dropped.toLocaleString("en-US")} events were dropped (a process reached ` +
        `its event cap, --tracer_entries); the timeline is incomplete`,
    });
  }
  if (extra.salvaged > 0) {
    lines.unshift({
      text: `${extra.salvaged} trace file${extra.salvaged === 1 ? " was" : "s were"} ` +
        `truncated (a process was killed); their events up to the damage are shown`,
    });
  }
  const skipped = Object.entries(extra.skipped);
  if (skipped.length > 0) {
    lines.push({
      text: "events the report cannot show were left out: " +
        skipped.map(([ph, n]) => `${n} of phase "${ph}"`).join(", "),
    });
  }
  return lines;
}

/** Shows label/value rows in the details tab. */
export function showDetails(body: HTMLElement, rows: [string, string][], title: string): void {
  body.replaceChildren();
  body.append(el("h2", title));
  const table = el("table", "", "details");
  for (const [label, value] of rows) {
    const tr = el("tr");
    tr.append(el("th", label));
    const td = el("td");
    if (VALUE_ROWS.has(label)) {
      const lines = label === ARGUMENTS ? value.split("\n") : [value];
      for (const line of lines) td.append(valueLine(line));
    } else if (value.includes("\n")) td.append(el("pre", value));
    else td.textContent = value;
    tr.append(td);
    table.append(tr);
  }
  body.append(table);
}

/** A value line longer than this shows its start; a click shows it all (its title holds it all). */
export const VALUE_LINE_LIMIT = 300;

/**
 * One line of repr text (an argument's `name = value`, a return value): monospace, wrapped with
 * a hanging indent; past `VALUE_LINE_LIMIT` characters cut, and shown whole on a click.
 */
function valueLine(line: string): HTMLElement {
  const div = el("div", line, "value-line");
  if (line.length <= VALUE_LINE_LIMIT) return div;
  const cut = `${line.slice(0, VALUE_LINE_LIMIT)}…`;
  const more = `(${line.length.toLocaleString("en-US")} characters: click for all)`;
  const show = (whole: boolean) => {
    div.replaceChildren(whole ? line : cut);
    if (!whole) div.append(" ", el("span", more, "more"));
    div.dataset.whole = String(whole);
  };
  div.title = line;
  div.classList.add("cut");
  div.addEventListener("click", () => show(div.dataset.whole !== "true"));
  show(false);
  return div;
}

const COLUMNS: [StatsKey, string][] = [
  ["name", "Function"],
  ["count", "Calls"],
  ["total", "Total"],
  ["self", "Self"],
  ["average", "Average"],
];

/** A sortable statistics table (click a header to sort by it). */
export function showStats(
  body: HTMLElement,
  options: { title: string; rows: FunctionStats[]; tickNs: number; sortBy?: StatsKey },
): void {
  let key: StatsKey = options.sortBy ?? "self";
  let ascending = key === "name";
  const render = () => {
    const rows = sortStats(options.rows, key, ascending);
    body.replaceChildren();
    body.append(el("h2", options.title));
    const table = el("table", "", "stats");
    const head = el("tr");
    for (const [column, label] of COLUMNS) {
      const th = el("th", label + (column === key ? (ascending ? " ▲" : " ▼") : ""));
      th.dataset.sort = column;
      th.addEventListener("click", () => {
        ascending = column === key ? !ascending : column === "name";
        key = column;
        render();
      });
      head.append(th);
    }
    table.append(head);
    const shown = rows.slice(0, 500);
    for (const row of shown) {
      const tr = el("tr");
      tr.append(
        el("td", row.name, "name"),
        el("td", row.count.toLocaleString("en-US"), "num"),
        el("td", formatDuration(row.total * options.tickNs), "num"),
        el("td", formatDuration(row.self * options.tickNs), "num"),
        el("td", formatDuration(row.average * options.tickNs), "num"),
      );
      table.append(tr);
    }
    body.append(table);
    if (rows.length > shown.length) {
      body.append(el("p", `${rows.length - shown.length} more functions not shown`, "note"));
    }
  };
  render();
}
