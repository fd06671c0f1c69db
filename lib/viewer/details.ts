/**
 * The details of one slice or instant as label/value rows, and names split into function and
 * location. A Python call's arguments and return value (args `func_args`, `return_value`: repr
 * texts) are rows of their own, one `name = value` line per argument; an exception says its type
 * and message. Pure: no DOM (the page shows the rows with textContent).
 * @module
 */
import { FLAG_UNFINISHED } from "../report_format.ts";
import {
  enclosingSlice,
  instantArgs,
  instantCategory,
  instantName,
  isException,
} from "./instants.ts";
import { isTaskTrack, type Model, type Track } from "./model.ts";
import { formatDuration } from "./time_scale.ts";

/** The row of a call's arguments: one `name = value` line each. */
export const ARGUMENTS = "Arguments";
/** The row of a call's return value. */
export const RETURN_VALUE = "Return value";
/** Rows whose value is repr text (monospace, wrapped, a long line cut with the rest on demand). */
export const VALUE_ROWS: ReadonlySet<string> = new Set([ARGUMENTS, RETURN_VALUE]);

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

/** A thread as one line: `name (tid N)`; an asyncio task's row `name (asyncio task)`. */
export function threadLabel(track: Track): string {
  if (isTaskTrack(track)) return `${track.info.name} (asyncio task)`;
  return track.info.name ? `${track.info.name} (tid ${track.info.tid})` : `tid ${track.info.tid}`;
}

/** Any value as one line of text: a string as it is, anything else as JSON. */
function text(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
}

/** JSON text pretty-printed (as stored when it is not JSON). */
function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

/**
 * The rows of a call's args: `Arguments` (`name = value` per line) and `Return value` from
 * `func_args` and `return_value`, then `Args` (pretty JSON) with the rest; args that are not a
 * JSON object (cut, or not from a trace) are one `Args` row as stored.
 */
export function argsRows(json: string): [string, string][] {
  let args: unknown;
  try {
    args = JSON.parse(json);
  } catch {
    return [["Args", json]];
  }
  if (!args || typeof args !== "object" || Array.isArray(args)) return [["Args", pretty(json)]];
  const { func_args: funcArgs, return_value: returnValue, ...rest } = args as Record<
    string,
    unknown
  >;
  const rows: [string, string][] = [];
  if (funcArgs && typeof funcArgs === "object" && !Array.isArray(funcArgs)) {
    const lines = Object.entries(funcArgs).map(([name, value]) => `${name} = ${text(value)}`);
    rows.push([ARGUMENTS, lines.length > 0 ? lines.join("\n") : "(none)"]);
  } else if (funcArgs !== undefined) rest.func_args = funcArgs;
  if (returnValue !== undefined) rows.push([RETURN_VALUE, text(returnValue)]);
  if (Object.keys(rest).length > 0) rows.push(["Args", JSON.stringify(rest, null, 2)]);
  return rows;
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
  if (args !== undefined) rows.push(...argsRows(model.strings[args]));
  const parent = track.parent[k];
  if (parent >= 0) rows.push(["Called by", splitName(model.strings[track.name[parent]]).func]);
  return rows;
}

/**
 * Label/value rows describing instant `i` (an index into `header.instants`): an exception's type,
 * message and whether a caller raised it again; its name, category, time, process, thread, the
 * call it happened in, and its other args.
 */
export function instantDetails(model: Model, i: number): [string, string][] {
  const [trackIndex, ticks] = model.header.instants[i];
  const track = model.tracks[trackIndex];
  const cat = instantCategory(model, i);
  const args = instantArgs(model, i);
  const rest = typeof args === "object" ? { ...args } : {};
  const rows: [string, string][] = [];
  if (isException(model, i)) {
    const { type, message, reraised } = rest;
    delete rest.type;
    delete rest.message;
    delete rest.reraised;
    rows.push(["Type", text(type ?? instantName(model, i))]);
    rows.push(["Message", message === undefined || message === "" ? "(none)" : text(message)]);
    if (reraised === true) rows.push(["Re-raised", "yes: the same exception raised again"]);
  } else rows.push(["Name", instantName(model, i)]);
  if (cat) rows.push(["Category", cat]);
  rows.push(
    ["Time", formatDuration(ticks * model.header.tickNs)],
    ["Process", processLabel(track)],
    ["Thread", threadLabel(track)],
  );
  const k = enclosingSlice(track, ticks);
  if (k >= 0) rows.push(["In", splitName(model.strings[track.name[k]]).func]);
  if (typeof args === "string") rows.push(["Args", args]);
  else if (Object.keys(rest).length > 0) rows.push(["Args", JSON.stringify(rest, null, 2)]);
  return rows;
}
