/**
 * The details of one slice as label/value rows, and names split into function and location.
 * Pure: no DOM (the page shows the rows with textContent).
 * @module
 */
import { FLAG_UNFINISHED } from "../report_format.ts";
import type { Model, Track } from "./model.ts";
import { formatDuration } from "./time_scale.ts";

/** `qualname (path:line)` split into its parts; `location` is "" for C functions. */
export function splitName(name: string): { func: string; location: string } {
  const match = /^(.*) \(([^()]*:\d+)\)$/.exec(name);
  return match ? { func: match[1], location: match[2] } : { func: name, location: "" };
}

/** A process as one line: `name (pid N)`. */
export function processLabel(track: Track): string {
  const process = track.process;
  return process.name ? `${process.name} (pid ${process.pid})` : `pid ${process.pid}`;
}

/** A thread as one line: `name (tid N)`. */
export function threadLabel(track: Track): string {
  return track.info.name ? `${track.info.name} (tid ${track.info.tid})` : `tid ${track.info.tid}`;
}

/** Label/value rows describing slice `k` of `track`. */
export function sliceDetails(model: Model, track: Track, k: number): [string, string][] {
  const tickNs = model.header.tickNs;
  const name = model.strings[track.name[k]];
  const { func, location } = splitName(name);
  const rows: [string, string][] = [["Function", func]];
  if (location) rows.push(["Location", location]);
  const cat = track.cat[k];
  if (cat > 0) rows.push(["Category", model.strings[cat - 1]]);
  rows.push(
    ["Start", formatDuration(track.start[k] * tickNs)],
    ["Duration", formatDuration(track.dur[k] * tickNs)],
    ["Self time", formatDuration(track.self[k] * tickNs)],
    ["Depth", String(track.depth[k])],
    ["Process", processLabel(track)],
    ["Thread", threadLabel(track)],
  );
  if (track.flags[k] & FLAG_UNFINISHED) {
    rows.push(["Unfinished", "still running when the process ended; closed at its end"]);
  }
  const args = track.args.get(k);
  if (args !== undefined) {
    const text = model.strings[args];
    let pretty = text;
    try {
      pretty = JSON.stringify(JSON.parse(text), null, 2);
    } catch { /* shown as stored */ }
    rows.push(["Args", pretty]);
  }
  const parent = track.parent[k];
  if (parent >= 0) rows.push(["Called by", splitName(model.strings[track.name[parent]]).func]);
  return rows;
}
