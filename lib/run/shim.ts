/**
 * The embedded Python shim: `py/` imported as text through the module graph, so the compiled
 * binary carries it, and written at run time into a private directory.
 * @module
 */
import { join } from "node:path";
import { writeNativeLibs } from "./native.ts";
import { OPTIONS_TABLE_TEXT } from "./shim_config.ts";
import sitecustomize from "../../py/sitecustomize.py" with { type: "text" };
import init from "../../py/_tracer/__init__.py" with { type: "text" };
import config from "../../py/_tracer/config.py" with { type: "text" };
import constants from "../../py/_tracer/constants.py" with { type: "text" };
import core from "../../py/_tracer/core.py" with { type: "text" };
import coreNative from "../../py/_tracer/core_native.py" with { type: "text" };
import debug from "../../py/_tracer/debug.py" with { type: "text" };
import bootstrap from "../../py/_tracer/bootstrap.py" with { type: "text" };
import session from "../../py/_tracer/session.py" with { type: "text" };
import coreMonitoring from "../../py/_tracer/core_monitoring.py" with { type: "text" };
import coreProfile from "../../py/_tracer/core_profile.py" with { type: "text" };
import writer from "../../py/_tracer/writer.py" with { type: "text" };
import hooks from "../../py/_tracer/hooks.py" with { type: "text" };
import tasks from "../../py/_tracer/tasks.py" with { type: "text" };
import rawfile from "../../py/_tracer/rawfile.py" with { type: "text" };
import ring from "../../py/_tracer/ring.py" with { type: "text" };
import capRing from "../../py/_tracer/cap_ring.py" with { type: "text" };
import names from "../../py/_tracer/names.py" with { type: "text" };
import cNames from "../../py/_tracer/c_names.py" with { type: "text" };
import threads from "../../py/_tracer/threads.py" with { type: "text" };
import pairing from "../../py/_tracer/pairing.py" with { type: "text" };
import values from "../../py/_tracer/values.py" with { type: "text" };
import callValues from "../../py/_tracer/call_values.py" with { type: "text" };
import events from "../../py/_tracer/events.py" with { type: "text" };
import gcPasses from "../../py/_tracer/gc_passes.py" with { type: "text" };
import raised from "../../py/_tracer/raised.py" with { type: "text" };
import asyncTasks from "../../py/_tracer/async_tasks.py" with { type: "text" };
import api from "../../py/_tracer/api.py" with { type: "text" };
import attach from "../../py/_tracer/attach.py" with { type: "text" };
import tracerApi from "../../py/tracer_api.py" with { type: "text" };

/** The shim's files, by path relative to the shim directory. */
export const SHIM_FILES: Readonly<Record<string, string>> = {
  "sitecustomize.py": sitecustomize,
  "_tracer/__init__.py": init,
  "_tracer/config.py": config,
  "_tracer/options.json": OPTIONS_TABLE_TEXT,
  "_tracer/constants.py": constants,
  "_tracer/core.py": core,
  "_tracer/core_native.py": coreNative,
  "_tracer/debug.py": debug,
  "_tracer/bootstrap.py": bootstrap,
  "_tracer/session.py": session,
  "_tracer/core_monitoring.py": coreMonitoring,
  "_tracer/core_profile.py": coreProfile,
  "_tracer/writer.py": writer,
  "_tracer/hooks.py": hooks,
  "_tracer/tasks.py": tasks,
  "_tracer/rawfile.py": rawfile,
  "_tracer/ring.py": ring,
  "_tracer/cap_ring.py": capRing,
  "_tracer/names.py": names,
  "_tracer/c_names.py": cNames,
  "_tracer/threads.py": threads,
  "_tracer/pairing.py": pairing,
  "_tracer/values.py": values,
  "_tracer/call_values.py": callValues,
  "_tracer/events.py": events,
  "_tracer/gc_passes.py": gcPasses,
  "_tracer/raised.py": raised,
  "_tracer/async_tasks.py": asyncTasks,
  "_tracer/api.py": api,
  "_tracer/attach.py": attach,
  "tracer_api.py": tracerApi,
};

/**
 * Writes the shim into `dir` (which must exist and be private), with the native cores built for
 * this platform beside it (lib/run/native.ts); returns `dir`.
 */
export async function writeShim(dir: string): Promise<string> {
  await Deno.mkdir(join(dir, "_tracer"), { mode: 0o700, recursive: true });
  await Promise.all(
    Object.entries(SHIM_FILES).map(([name, text]) =>
      Deno.writeTextFile(join(dir, name), text, { mode: 0o600, createNew: true })
    ),
  );
  await writeNativeLibs(dir);
  return dir;
}
