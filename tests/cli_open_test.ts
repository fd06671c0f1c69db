/**
 * `--open`: after writing an HTML report, tracer starts the platform's opener (xdg-open here) on
 * it, with the path as its one argument and no shell; without an opener it says so in one line
 * and the exit status stays 0; a JSON output is not opened.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES, runCli, tempDir } from "./helpers.ts";

const INPUTS = ["result_2000.json", "result_2010.json"].map((name) =>
  join(FIXTURES, "report", "combine", name)
);
const opener = Deno.build.os === "darwin" ? "open" : "xdg-open";

/** A directory holding a fake opener that writes its arguments, one a line, to `seen`. */
async function fakeOpener(dir: string, seen: string): Promise<string> {
  const bin = join(dir, "bin");
  await Deno.mkdir(bin);
  const script = join(bin, opener);
  await Deno.writeTextFile(
    script,
    `#!/bin/sh\nfor arg in "$@"; do printf '%s\\n' "$arg" >> '${seen}.part'; done\nmv '${seen}.part' '${seen}'\n`,
  );
  await Deno.chmod(script, 0o755);
  return bin;
}

Deno.test({
  name: "--open starts the opener on the written report; without one, one line and status 0",
  ignore: Deno.build.os === "windows",
  async fn() {
    await using dir = await tempDir();
    const seen = join(dir.path, "opened.txt");
    const bin = await fakeOpener(dir.path, seen);
    // A name a shell would split or expand: it must arrive as one argument.
    const report = join(dir.path, "my report $HOME;.html");
    const run = await runCli(["--quiet", "--open", "--combine", ...INPUTS, "-o", report], {
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const deadline = performance.now() + 120_000;
    while (!(await Deno.stat(seen).then(() => true, () => false))) {
      if (performance.now() > deadline) throw new Error("the opener was never started");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(await Deno.readTextFile(seen), `${report}\n`);

    const empty = join(dir.path, "empty");
    await Deno.mkdir(empty);
    const none = await runCli(["--quiet", "--open", "--combine", ...INPUTS, "-o", report], {
      env: { PATH: empty },
    });
    assert.equal(none.code, 0, none.stderr);
    // (the report replaced the first run's: said even with --quiet)
    const lines = none.stderr.trim().split("\n");
    assert.equal(lines.length, 2, none.stderr);
    assert.equal(lines[0], `tracer: ${report} replaced the previous file`);
    assert.match(lines[1], new RegExp(`^tracer: cannot open the report in a browser \\(${opener}`));
    assert.ok(lines[1].endsWith(`open ${report}`), lines[1]);

    const json = await runCli(
      ["--quiet", "--open", "--combine", ...INPUTS, "-o", join(dir.path, "r.json")],
      { env: { PATH: `${bin}:/usr/bin:/bin` } },
    );
    assert.equal(json.code, 0, json.stderr);
    assert.match(json.stderr, /--open shows HTML reports only/);
  },
});
