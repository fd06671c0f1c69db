/**
 * `deno task demo [tracer args...]`: traces `examples/demo.py` into `result.html`, building first
 * what it needs that is missing: the native core for the default `python3`
 * (scripts/build_native.ts; without a C compiler tracer records with its Python core and says so).
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nativeLibs, PLATFORM } from "../lib/run/native.ts";
import { buildNative } from "./build_native.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The `cp<XY>` tag of the default python3, or null when there is none. */
async function python3Tag(): Promise<string | null> {
  try {
    const result = await new Deno.Command("python3", {
      args: ["-c", "import sys; print('cp%d%d' % sys.version_info[:2])"],
      stderr: "null",
    }).output();
    return result.success ? new TextDecoder().decode(result.stdout).trim() : null;
  } catch {
    return null;
  }
}

if (import.meta.main) {
  const tag = await python3Tag();
  const libs = await nativeLibs();
  if (tag !== null && (libs === null || libs.platform !== PLATFORM || !(tag in libs.libs))) {
    console.error(`demo: building the native core (${tag} is missing)`);
    await buildNative([]);
  }
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "main.ts"), ...Deno.args, join(ROOT, "examples", "demo.py")],
  }).spawn().status;
  Deno.exit(status.code);
}
