/**
 * Finding the Python interpreter to run (`--python PATH`, else `python3`, then `python`, on PATH)
 * and checking it is a CPython tracer supports.
 * @module
 */
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { reasonOf, shortened, UsageError } from "../errors.ts";

/** Returns an absolute path to an executable Python; throws `UsageError` when there is none. */
export function findPython(requested: string | null, env: Record<string, string>): string {
  if (requested !== null) {
    const found = requested.includes("/")
      ? executable(isAbsolute(requested) ? requested : resolve(requested))
      : searchPath(requested, env.PATH ?? "");
    if (found) return found;
    throw new UsageError(
      `--python ${
        shortened(requested)
      } is not an executable file; pass the path of a Python 3.8+ interpreter`,
    );
  }
  for (const name of ["python3", "python"]) {
    const found = searchPath(name, env.PATH ?? "");
    if (found) return found;
  }
  throw new UsageError(
    "cannot find python3 or python on PATH; install Python 3.8+ or pass --python PATH",
  );
}

/** True when `name` is an executable file in a folder of `path` (a PATH value). */
export function onPath(name: string, path: string): boolean {
  return searchPath(name, path) !== null;
}

function searchPath(name: string, path: string): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const found = executable(join(dir, name));
    if (found) return found;
  }
  return null;
}

function executable(path: string): string | null {
  try {
    const info = Deno.statSync(path);
    if (!info.isFile) return null;
    if (Deno.build.os !== "windows" && ((info.mode ?? 0) & 0o111) === 0) return null;
    return path;
  } catch {
    return null;
  }
}

// Runs under Python 2 too (no f-strings, no sys.implementation needed), so it can name the version.
const PROBE = "import sys; impl = getattr(sys, 'implementation', None); " +
  "sys.stdout.write('tracer-probe %s %d %d' % (impl.name if impl else 'cpython', " +
  "sys.version_info[0], sys.version_info[1]))";

/** A CPython's version: `[3, 14]`. */
export type PythonVersion = readonly [major: number, minor: number];

/**
 * Checks, before the program runs, that `python` is CPython 3.8 or later, and returns its version:
 * runs it once (`-S -E`: no site, no PYTHON* variables; a few ms). `requested` is the `--python`
 * value, for the message. Throws a `UsageError` saying what it is instead.
 */
export async function checkPython(
  python: string,
  requested: string | null,
  env: Record<string, string>,
): Promise<PythonVersion> {
  const what = requested === null
    ? `${shortened(python)} (found on PATH)`
    : `--python ${shortened(requested)}`;
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(python, {
      args: ["-S", "-E", "-c", PROBE],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
  } catch (error) {
    throw new UsageError(
      `${what} cannot be started (${reasonOf(error)}); pass a CPython 3.8+ with --python PATH`,
      { cause: error },
    );
  }
  const match = /^tracer-probe (\S+) (\d+) (\d+)$/.exec(new TextDecoder().decode(output.stdout));
  if (match === null) {
    throw new UsageError(
      `${what} is not a Python interpreter (it does not run python -c); pass a CPython 3.8+ with --python PATH`,
    );
  }
  const [name, major, minor] = [match[1], Number(match[2]), Number(match[3])];
  if (name !== "cpython" || major < 3 || (major === 3 && minor < 8)) {
    const kind = name === "cpython" ? "Python" : name;
    throw new UsageError(
      `${what} is ${kind} ${major}.${minor}; tracer needs CPython 3.8 or later (pass one with --python PATH)`,
    );
  }
  return [major, minor];
}
