import { deepEqual as assertEquals, equal as assertEqual, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUNDLE_PATH, bundleHash, sourceHash, viewerSources } from "./build.ts";

Deno.test("the committed viewer bundle is built from the current sources", async () => {
  const bundle = await Deno.readTextFile(BUNDLE_PATH);
  assertEqual(
    bundleHash(bundle),
    await sourceHash(),
    "lib/viewer/dist/viewer.js is stale: run `deno task build:viewer` and commit it",
  );
  assert(!/<\/script/i.test(bundle), "the bundle must not contain </script");
});

Deno.test("the bundle's sources include subfolders, not tests, the bundle or the build script", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const viewer = join(dir, "viewer");
    for (
      const path of ["main.ts", "main_test.ts", "build.ts", "render/frame.ts", "dist/viewer.ts"]
    ) {
      await Deno.mkdir(join(viewer, path, ".."), { recursive: true });
      await Deno.writeTextFile(join(viewer, path), "");
    }
    assertEquals(viewerSources(viewer), [
      join(dir, "bytes", "concat.ts"),
      join(dir, "report_format.ts"),
      join(dir, "trace_event.ts"),
      join(viewer, "main.ts"),
      join(viewer, "render", "frame.ts"),
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every local module the viewer imports is among the bundle's sources", async () => {
  const main = fileURLToPath(new URL("./main.ts", import.meta.url));
  const result = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", main] })
    .output();
  assert(result.success, "deno info failed");
  const info = JSON.parse(new TextDecoder().decode(result.stdout)) as {
    modules: { specifier: string }[];
  };
  const imported = info.modules.map((module) => module.specifier)
    .filter((specifier) => specifier.startsWith("file:")).map((url) => fileURLToPath(url));
  const sources = new Set(viewerSources());
  assertEquals(imported.filter((path) => !sources.has(path)), []);
});
