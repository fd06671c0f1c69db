/**
 * The native recording cores (`py/_tracer/_native.c` built per CPython), embedded through the
 * module graph so that `deno run -A main.ts` and the compiled binary behave the same.
 *
 * `deno task build:native` (scripts/build_native.ts) writes `build/native/libs.ts` (gitignored):
 * the libraries of this platform, base64. It is imported dynamically: on a fresh clone, or where
 * no compiler ran, the import fails and the shim records with its Python cores (and says so).
 * @module
 */
import { join } from "node:path";

/** What `build/native/libs.ts` exports as `NATIVE_LIBS`. */
export interface NativeLibs {
  /** `${Deno.build.os}-${Deno.build.arch}` of the machine that built them. */
  platform: string;
  /** Base64 of each library, keyed `cp<major><minor>` (e.g. `cp312`). */
  libs: Record<string, string>;
}

/** The platform key of this process, as {@linkcode NativeLibs.platform} spells it. */
export const PLATFORM = `${Deno.build.os}-${Deno.build.arch}`;

/** The embedded libraries, or null when none were built into this program. */
export async function nativeLibs(): Promise<NativeLibs | null> {
  try {
    const module = await import("../../build/native/libs.ts");
    return module.NATIVE_LIBS as NativeLibs;
  } catch {
    return null;
  }
}

/**
 * Writes the libraries built for this platform into `<shimDir>/_tracer/native/cp<XY>.so`, where
 * each traced Python looks for its own (`py/_tracer/core.py`). Returns the tags written.
 */
export async function writeNativeLibs(shimDir: string): Promise<string[]> {
  const found = await nativeLibs();
  if (found === null || found.platform !== PLATFORM) return [];
  const dir = join(shimDir, "_tracer", "native");
  await Deno.mkdir(dir, { mode: 0o700, recursive: true });
  const tags = Object.keys(found.libs);
  await Promise.all(
    tags.map((tag) =>
      Deno.writeFile(join(dir, `${tag}.so`), decodeBase64(found.libs[tag]), {
        mode: 0o700,
        createNew: true,
      })
    ),
  );
  return tags;
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
