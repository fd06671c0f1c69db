import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { SHIM_FILES, writeShim } from "./shim.ts";

const PY_DIR = fileURLToPath(new URL("../../py", import.meta.url));

/** The shim's files under `dir`: Python sources and the option table (build output aside). */
function listPy(dir: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && entry.name !== "__pycache__") found.push(...listPy(path));
    else if (entry.isFile && /\.(py|json)$/.test(entry.name)) found.push(relative(PY_DIR, path));
  }
  return found;
}

Deno.test("every file in py/ is embedded, and nothing else", () => {
  assert.deepEqual(Object.keys(SHIM_FILES).sort(), listPy(PY_DIR).sort());
});

Deno.test("writeShim writes the embedded files byte for byte", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeShim(dir);
    for (const [name, text] of Object.entries(SHIM_FILES)) {
      assert.equal(await Deno.readTextFile(join(dir, name)), text);
      assert.equal(await Deno.readTextFile(join(PY_DIR, name)), text);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
