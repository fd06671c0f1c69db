import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../errors.ts";
import { copyStreamInputs } from "./stream_inputs.ts";

Deno.test("a FIFO is read once into a private copy; regular files are left as they are", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "a.json");
    await Deno.writeTextFile(file, "[]");
    const fifo = join(dir, "f.json");
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    const writing = Deno.open(fifo, { write: true }).then(async (out) => {
      await out.write(new TextEncoder().encode('[{"ph":"X"}]'));
      out.close();
    });
    const copies = join(dir, "copies");
    const result = await copyStreamInputs([file, fifo], async () => {
      await Deno.mkdir(copies, { mode: 0o700 });
      return copies;
    });
    await writing;
    assertEquals(result.paths[0], file);
    assertEquals(await Deno.readTextFile(result.paths[1]), '[{"ph":"X"}]');
    assertEquals([...result.originals], [[result.paths[1], fifo]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a stream past the limit is a UsageError naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fifo = join(dir, "big");
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    const writing = Deno.open(fifo, { write: true }).then(async (out) => {
      await out.write(new Uint8Array(5000)).catch(() => {});
      out.close();
    });
    await rejects(
      copyStreamInputs([fifo], () => Promise.resolve(dir), { limit: 1000 }),
      (error) =>
        error instanceof UsageError && /input .*big is a stream of more than/.test(error.message),
    );
    await writing;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
