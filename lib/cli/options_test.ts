import { ok as assert } from "node:assert/strict";
import { parseArgs } from "./args.ts";
import { HELP, OPTIONS } from "./options.ts";

Deno.test("--help has a line for every option of a help section", () => {
  for (const option of OPTIONS) {
    if (!("section" in option)) continue;
    assert(HELP.includes(`--${option.name}`), `--help does not mention --${option.name}`);
  }
  assert(HELP.includes("  -o, --output_file PATH   result file:"), HELP);
  assert(HELP.includes("  --log_subprocess, --log_multiprocess   accepted"), HELP);
});

Deno.test("every long name and alias of a help section parses", () => {
  for (const option of OPTIONS) {
    if (!("section" in option)) continue;
    for (const name of [option.name, ...("aliases" in option ? option.aliases : [])]) {
      const argv = [`--${name}`, ...("value" in option ? ["1"] : []), "app.py"];
      try {
        parseArgs(argv);
      } catch (error) {
        assert(!String(error).includes("unknown option"), `--${name}: ${error}`);
      }
    }
  }
});
