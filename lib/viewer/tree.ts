/**
 * The process tree: processes ordered parent first, each child under the process that started it
 * (`ProcessInfo.parent`), siblings by start time. Pure: no DOM.
 * @module
 */
import type { ProcessModel } from "./model.ts";

/**
 * Orders `processes` depth first from the roots (processes with no traced parent, in their
 * current order) and sets each one's `treeDepth`; returns the new order.
 */
export function treeOrder(processes: ProcessModel[]): ProcessModel[] {
  const byPid = new Map(processes.map((process) => [String(process.info.pid), process]));
  const children = new Map<ProcessModel, ProcessModel[]>();
  const roots: ProcessModel[] = [];
  for (const process of processes) {
    const parentPid = process.info.parent;
    const parent = parentPid === undefined ? undefined : byPid.get(String(parentPid));
    if (!parent || parent === process) roots.push(process);
    else children.set(parent, [...children.get(parent) ?? [], process]);
  }
  const ordered: ProcessModel[] = [];
  const seen = new Set<ProcessModel>();
  const visit = (process: ProcessModel, depth: number) => {
    if (seen.has(process)) return;
    seen.add(process);
    process.treeDepth = depth;
    ordered.push(process);
    const kids = children.get(process) ?? [];
    kids.sort((a, b) => firstStart(a) - firstStart(b));
    for (const child of kids) visit(child, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  // A parent cycle (pids reused in odd ways) has no root: keep those processes, unindented.
  for (const process of processes) visit(process, 0);
  return ordered;
}

/** The earliest slice start of a process (Infinity when it has none). */
function firstStart(process: ProcessModel): number {
  let first = Infinity;
  for (const track of process.tracks) {
    if (track.start.length > 0) first = Math.min(first, track.start[0]);
  }
  return first;
}
