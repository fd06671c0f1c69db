/**
 * Bundles the viewer (lib/viewer/main.ts and its imports) into lib/viewer/dist/viewer.js with
 * `deno bundle`, stamped with a hash of the sources so a test can tell when the bundle is stale.
 * Run with `deno task build:viewer`.
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const VIEWER_DIR = dirname(fileURLToPath(import.meta.url));
/** Where the committed bundle lives. */
export const BUNDLE_PATH: string = join(VIEWER_DIR, "dist", "viewer.js");

/** Modules outside the viewer folder that the viewer imports (relative to lib/). */
const SHARED = ["trace_event.ts", "report_format.ts", "bytes/concat.ts"];

/**
 * The files the bundle is built from: every viewer module in `dir` and its subfolders (not the
 * tests, the bundle or this script), and the shared modules it imports, sorted.
 */
export function viewerSources(dir: string = VIEWER_DIR): string[] {
  const files = SHARED.map((path) => join(dir, "..", path));
  const walk = (folder: string) => {
    for (const entry of Deno.readDirSync(folder)) {
      const path = join(folder, entry.name);
      if (entry.isDirectory && path !== join(dir, "dist")) walk(path);
      else if (entry.isFile && isBundled(path, dir)) files.push(path);
    }
  };
  walk(dir);
  return files.sort();
}

function isBundled(path: string, dir: string): boolean {
  return path.endsWith(".ts") && !path.endsWith("_test.ts") && path !== join(dir, "build.ts");
}

/** A hash of every file the bundle is built from ({@linkcode viewerSources}). */
export async function sourceHash(): Promise<string> {
  const files = viewerSources();
  const hash = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(
      files.map((file) => `${file.slice(VIEWER_DIR.length)}\n${Deno.readTextFileSync(file)}`)
        .join("\n"),
    ),
  );
  return [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The hash recorded in a bundle's first line, if any. */
export function bundleHash(bundle: string): string | undefined {
  return /^\/\/ tracer viewer sources: ([0-9a-f]{64})/.exec(bundle)?.[1];
}

async function build() {
  const out = await Deno.makeTempFile({ suffix: ".js" });
  try {
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform=browser",
        "--minify",
        "-o",
        out,
        join(VIEWER_DIR, "main.ts"),
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!result.success) throw new Error("deno bundle failed");
    const js = await Deno.readTextFile(out);
    if (/<\/script|<!--/i.test(js)) console.warn("note: the bundle holds </script or <!--");
    await Deno.mkdir(dirname(BUNDLE_PATH), { recursive: true });
    await Deno.writeTextFile(BUNDLE_PATH, `// tracer viewer sources: ${await sourceHash()}\n${js}`);
    console.log(`wrote ${BUNDLE_PATH} (${js.length} bytes)`);
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

if (import.meta.main) await build();
