/**
 * Where the benchmarks find VizTracer, the anchor they measure against: `$VIZTRACER`, else the
 * venv the README installs it into (`python3 -m venv /opt/viztracer-venv && .../pip install viztracer`).
 * @module
 */
import { newerVenvProgram } from "../scripts/pythons.ts";

/** Path of the `viztracer` executable the benchmarks run (it may not exist: check with `exists`). */
export const VIZTRACER: string = Deno.env.get("VIZTRACER") ?? "/opt/viztracer-venv/bin/viztracer";

/** True when `VIZTRACER` names an existing file. */
export async function haveViztracer(): Promise<boolean> {
  return await Deno.stat(VIZTRACER).then((info) => info.isFile, () => false);
}

/**
 * The `viztracer` installed for one CPython ("3.12"): `/opt/viztracer-venv-3.12/bin/viztracer`
 * (`python3.12 -m venv /opt/viztracer-venv-3.12 && .../pip install viztracer`), else for 3.14 and
 * 3.15 the one `deno task pythons` installs in its root (scripts/pythons.ts), or null.
 */
export async function viztracerFor(version: string): Promise<string | null> {
  const path = `/opt/viztracer-venv-${version}/bin/viztracer`;
  const installed = await Deno.stat(path).then((info) => info.isFile, () => false);
  return installed ? path : newerVenvProgram(version, "viztracer");
}
