import { ok as assert } from "node:assert/strict";
import { parseArgs } from "./args.ts";
import { HELP, OPTIONS } from "./options.ts";
import { RECORDING_OPTIONS } from "../run/shim_config.ts";

Deno.test("--help has a line for every option of a help section", () => {
  for (const option of OPTIONS) {
    if (option.section === undefined) continue;
    assert(HELP.includes(`--${option.name}`), `--help does not mention --${option.name}`);
  }
  assert(HELP.includes("  -o, --output_file PATH   result file:"), HELP);
  assert(HELP.includes("  --log_subprocess, --log_multiprocess   accepted"), HELP);
});

Deno.test("every long name and alias of a help section parses", () => {
  for (const option of OPTIONS) {
    if (option.section === undefined) continue;
    for (const name of [option.name, ...option.aliases ?? []]) {
      const argv = [`--${name}`, ...(option.value === undefined ? [] : ["1"]), "app.py"];
      try {
        parseArgs(argv);
      } catch (error) {
        assert(!String(error).includes("unknown option"), `--${name}: ${error}`);
      }
    }
  }
});

Deno.test("every recording option of the table is parsed, documented and defaulted", () => {
  const defaults = (parseArgs(["a.py"]) as { recording: Record<string, unknown> }).recording;
  for (const option of RECORDING_OPTIONS) {
    assert(HELP.includes(`--${option.flag}`), `--help does not mention --${option.flag}`);
    assert(Object.is(defaults[option.key], option.default) || Array.isArray(option.default));
  }
  assert(HELP.includes("per-process event cap (default 5000000)"), HELP);
});
