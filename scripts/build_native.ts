/**
 * `deno task build:native [--python PATH]... [--cc CC]`: compiles `py/_tracer/_native.c` with the
 * system C compiler for every CPython 3.8-3.15 it finds (the pyenv versions and the launchers of
 * `deno task pythons`, or the `--python` interpreters given) into `build/native/cp<XY>.so`, then
 * writes `build/native/libs.ts`, which embeds them (base64) for lib/run/native.ts. A Python whose
 * folder holds a `cc` launcher (scripts/pythons.ts: a Debian root) is compiled for with that one:
 * its headers and C library are the root's. It always writes libs.ts, empty when nothing was built,
 * so that `deno compile` finds the module. Exit status 1 when a compile failed.
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PLATFORM } from "../lib/run/native.ts";
import { newerPythons } from "./pythons.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SOURCE = join(ROOT, "py", "_tracer", "_native.c");
const OUT = join(ROOT, "build", "native");
const SUPPORTED = /^3\.(8|9|10|11|12|13|14|15)$/;

/** What a Python says about itself: its version, headers and whether it is free-threaded. */
interface PythonInfo {
  version: string;
  include: string;
  freeThreaded: boolean;
}

async function probe(python: string): Promise<PythonInfo | null> {
  const code = "import sys, sysconfig; print('%d.%d' % sys.version_info[:2]); " +
    "print(sysconfig.get_paths()['include']); print(int('t' in getattr(sys, 'abiflags', '')))";
  try {
    const result = await new Deno.Command(python, { args: ["-c", code], stderr: "null" }).output();
    if (!result.success) return null;
    const [version, include, threaded] = new TextDecoder().decode(result.stdout).trim().split(
      "\n",
    );
    return { version, include, freeThreaded: threaded === "1" };
  } catch {
    return null;
  }
}

/** The default python3, the pyenv versions, and the launchers of `deno task pythons`. */
function defaultPythons(): string[] {
  const root = Deno.env.get("PYENV_ROOT") ?? join(Deno.env.get("HOME") ?? "/root", ".pyenv");
  const found: string[] = [];
  try {
    for (const entry of Deno.readDirSync(join(root, "versions"))) {
      if (/^3\.\d+\.\d+$/.test(entry.name)) {
        found.push(join(root, "versions", entry.name, "bin", "python3"));
      }
    }
  } catch { /* no pyenv */ }
  return ["python3", ...found.sort(), ...newerPythons().values()];
}

function parse(argv: string[]): { pythons: string[]; cc: string | null } {
  const pythons: string[] = [];
  let cc = Deno.env.get("CC") ?? null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--python" && i + 1 < argv.length) pythons.push(argv[++i]);
    else if (argv[i] === "--cc" && i + 1 < argv.length) cc = argv[++i];
    else throw new Error(`usage: build:native [--python PATH]... [--cc CC], got ${argv[i]}`);
  }
  return { pythons: pythons.length ? pythons : defaultPythons(), cc };
}

/** The `cc` launcher beside a launched Python (scripts/pythons.ts), else the system's `cc`. */
function compilerFor(python: string): string {
  const beside = join(dirname(python), "cc");
  try {
    if (Deno.statSync(beside).isFile) return beside;
  } catch { /* a plain Python */ }
  return "cc";
}

async function compile(cc: string, info: PythonInfo, output: string): Promise<boolean> {
  const macos = Deno.build.os === "darwin";
  const args = [
    "-O2",
    "-std=gnu11",
    "-Wall",
    "-Wno-unused-parameter",
    "-fPIC",
    "-I",
    info.include,
    ...(macos ? ["-bundle", "-undefined", "dynamic_lookup"] : ["-shared", "-pthread"]),
    SOURCE,
    "-o",
    output,
  ];
  try {
    const result = await new Deno.Command(cc, { args, stdout: "inherit", stderr: "inherit" })
      .output();
    return result.success;
  } catch (error) {
    console.error(`build:native: cannot run ${cc}: ${(error as Error).message}`);
    return false;
  }
}

/** Builds every library it can; returns the tags built and whether any compile failed. */
export async function buildNative(argv: string[]): Promise<{ built: string[]; failed: boolean }> {
  const { pythons, cc } = parse(argv);
  await Deno.remove(OUT, { recursive: true }).catch(() => {});
  await Deno.mkdir(OUT, { recursive: true });
  const libs: Record<string, string> = {};
  let failed = false;
  for (const python of pythons) {
    const info = await probe(python);
    if (info === null || !SUPPORTED.test(info.version) || info.freeThreaded) {
      console.error(`build:native: skipping ${python}: not a CPython 3.8-3.15 with the GIL`);
      continue;
    }
    const tag = `cp${info.version.replace(".", "")}`;
    if (tag in libs) continue;
    const output = join(OUT, `${tag}.so`);
    if (!await compile(cc ?? compilerFor(python), info, output)) {
      console.error(`build:native: compiling for ${python} (CPython ${info.version}) failed`);
      failed = true;
      continue;
    }
    libs[tag] = encodeBase64(await Deno.readFile(output));
    console.error(`build:native: ${tag} for ${PLATFORM} (${python})`);
  }
  const entries = Object.entries(libs).map(([tag, data]) => `    ${tag}: "${data}",\n`).join("");
  await Deno.mkdir(dirname(join(OUT, "libs.ts")), { recursive: true });
  await Deno.writeTextFile(
    join(OUT, "libs.ts"),
    "// Generated by `deno task build:native` (scripts/build_native.ts); do not edit.\n" +
      "// The shape is lib/run/native.ts's NativeLibs (not imported: no import cycle).\n\n" +
      `/** The native cores built for ${PLATFORM}. */\n` +
      `export const NATIVE_LIBS = {\n  platform: "${PLATFORM}",\n  libs: {\n` +
      `${entries}  },\n};\n`,
  );
  return { built: Object.keys(libs), failed };
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

if (import.meta.main) {
  const { built, failed } = await buildNative(Deno.args);
  if (built.length === 0) console.error("build:native: no library built (no CPython 3.8-3.15?)");
  Deno.exit(failed ? 1 : 0);
}
