/**
 * The Python shim's own unit tests (tests/py, unittest): config, C-function naming, the raw
 * file's writer and the Python cores' pairing, run on every CPython of the matrix.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pythonMatrix, ROOT, runCommand } from "./helpers.ts";

for (const [version, python] of pythonMatrix()) {
  Deno.test(`the shim's unit tests pass on Python ${version}`, async () => {
    const result = await runCommand(
      [
        python,
        "-m",
        "unittest",
        "discover",
        "-s",
        join(ROOT, "tests", "py"),
        "-t",
        join(ROOT, "tests", "py"),
      ],
      { env: { PYTHONPATH: [join(ROOT, "py"), join(ROOT, "tests", "py")].join(":") } },
    );
    assert.equal(result.code, 0, result.stderr);
    // unittest reports on stderr: every module's tests ran (none was skipped as unimportable)
    const ran = Number(/Ran (\d+) tests?/.exec(result.stderr)?.[1] ?? 0);
    assert.ok(ran >= 18, result.stderr);
  });
}
