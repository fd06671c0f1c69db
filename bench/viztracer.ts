/**
 * Where the benchmarks find VizTracer, the anchor they measure against: `$VIZTRACER`, else the
 * venv the README installs it into (`python3 -m venv /opt/viztracer-venv && .../pip install viztracer`).
 * @module
 */

/** Path of the `viztracer` executable the benchmarks run (it may not exist: check with `exists`). */
export const VIZTRACER: string = Deno.env.get("VIZTRACER") ?? "/opt/viztracer-venv/bin/viztracer";

/** True when `VIZTRACER` names an existing file. */
export async function haveViztracer(): Promise<boolean> {
  return await Deno.stat(VIZTRACER).then((info) => info.isFile, () => false);
}
