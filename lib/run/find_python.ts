/**
 * Finding the Python interpreter to run: `--python PATH`, else `python3`, then `python`, on PATH.
 * @module
 */
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { UsageError } from "../errors.ts";

/** Returns an absolute path to an executable Python; throws `UsageError` when there is none. */
export function findPython(requested: string | null, env: Record<string, string>): string {
  if (requested !== null) {
    const found = requested.includes("/")
      ? executable(isAbsolute(requested) ? requested : resolve(requested))
      : searchPath(requested, env.PATH ?? "");
    if (found) return found;
    throw new UsageError(
      `--python ${requested} is not an executable file; pass the path of a Python 3.8+ interpreter`,
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
