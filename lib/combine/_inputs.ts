/**
 * The input list of `tracer --combine`: directories and unexpanded globs become files.
 * @module
 */
import { basename, join, resolve } from "node:path";
import { shortened, UsageError } from "../errors.ts";

/** Expands directories (their *.json / *.json.gz files) and globs the shell did not expand; throws UsageError naming a missing input. */
export async function expandInputs(args: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const arg of args) {
    const stat = await Deno.stat(arg).catch(() => null);
    if (stat?.isDirectory) {
      const names = await listDir(arg, "");
      const traces = names.filter(isTraceFileName);
      if (traces.length === 0) {
        throw new UsageError(
          `directory ${shortened(arg)} holds no .json or .json.gz files; name the files`,
        );
      }
      found.push(...traces.map((name) => join(arg, name)));
    } else if (stat !== null) {
      found.push(arg);
    } else if (/[*?]/.test(basename(arg))) {
      const dir = arg.slice(0, arg.length - basename(arg).length) || ".";
      const pattern = globPattern(basename(arg));
      const names = (await listDir(dir, arg)).filter((name) => pattern.test(name));
      if (names.length === 0) {
        throw new UsageError(`no file matches ${shortened(arg)}; check the pattern`);
      }
      found.push(...names.map((name) => join(dir, name)));
    } else {
      throw new UsageError(`input file ${shortened(arg)} does not exist; check the path`);
    }
  }
  const seen = new Set<string>();
  const unique: string[] = [];
  for (const path of found) {
    const real = await Deno.realPath(path).catch(() => resolve(path));
    if (seen.has(real)) continue;
    seen.add(real);
    unique.push(path);
  }
  return unique;
}

function isTraceFileName(name: string): boolean {
  return (name.endsWith(".json") || name.endsWith(".json.gz")) && !name.startsWith(".");
}

function globPattern(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(
    /\?/g,
    "[^/]",
  );
  return new RegExp(`^${body}$`);
}

async function listDir(dir: string, forArg: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile || entry.isSymlink) names.push(entry.name);
    }
  } catch (error) {
    const what = forArg === ""
      ? `directory ${shortened(dir)}`
      : `${shortened(forArg)}: directory ${shortened(dir)}`;
    throw new UsageError(`cannot list ${what} (${(error as Error).message}); check the path`, {
      cause: error,
    });
  }
  return names.sort(fileOrder);
}

/** `result_9.json` < `result_10.json` < `result_10_1.json` (an exec successor after its parent). */
function fileOrder(a: string, b: string): number {
  const stem = (name: string) => name.replace(/\.json(\.gz)?$/, "");
  return stem(a).localeCompare(stem(b), "en", { numeric: true }) || (a < b ? -1 : a > b ? 1 : 0);
}
