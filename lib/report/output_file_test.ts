import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { openOutput } from "./output_file.ts";

async function writeThrough(path: string, text: string) {
  const output = await openOutput(path);
  const writer = output.writable.getWriter();
  let tempSeen: string[] = [];
  await writer.write(new TextEncoder().encode(text));
  tempSeen = [...Deno.readDirSync(join(path, ".."))].map((entry) => entry.name);
  await writer.close();
  return { result: await output.commit(), tempSeen };
}

Deno.test("a symlink planted at the old predictable temp name is never written through", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const victim = join(dir, "victim");
    await Deno.writeTextFile(victim, "precious");
    await Deno.symlink(victim, join(dir, `.out.json.${Deno.pid}.tmp`));
    const { result } = await writeThrough(join(dir, "out.json"), "new");
    assertEquals(await Deno.readTextFile(victim), "precious");
    assertEquals(await Deno.readTextFile(join(dir, "out.json")), "new");
    assertEquals(result, { bytes: 3, replaced: null });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the temp file's name is unpredictable (random, no pid) and private to the write", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await writeThrough(join(dir, "a.json"), "1");
    const second = await writeThrough(join(dir, "a.json"), "2");
    const temps = [...first.tempSeen, ...second.tempSeen].filter((name) => name.endsWith(".tmp"));
    assertEquals(temps.length, 2);
    assert(temps[0] !== temps[1], temps.join(" "));
    for (const name of temps) {
      assert(/^\.a\.json\.[0-9a-f]{32}\.tmp$/.test(name), name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an output path holding a symlink: the link is replaced, its target untouched, and said", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const target = join(dir, "target.json");
    await Deno.writeTextFile(target, "keep");
    const link = join(dir, "out.json");
    await Deno.symlink(target, link);
    const { result } = await writeThrough(link, "new");
    assertEquals(result.replaced, "symlink");
    assertEquals(await Deno.readTextFile(target), "keep");
    assertEquals((await Deno.lstat(link)).isSymlink, false);
    assertEquals(await Deno.readTextFile(link), "new");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
