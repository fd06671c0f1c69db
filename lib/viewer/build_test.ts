import { equal as assertEqual, ok as assert } from "node:assert/strict";
import { BUNDLE_PATH, bundleHash, sourceHash } from "./build.ts";

Deno.test("the committed viewer bundle is built from the current sources", async () => {
  const bundle = await Deno.readTextFile(BUNDLE_PATH);
  assertEqual(
    bundleHash(bundle),
    await sourceHash(),
    "lib/viewer/dist/viewer.js is stale: run `deno task build:viewer` and commit it",
  );
  assert(!/<\/script/i.test(bundle), "the bundle must not contain </script");
});
