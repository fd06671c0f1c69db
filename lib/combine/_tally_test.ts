import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { Tally } from "./_tally.ts";
import { IdSet, ThreadSet } from "./_ids.ts";
import type { TraceWarning } from "../trace_event.ts";
import { TracerError } from "../errors.ts";

function tally(strict = false) {
  const warnings: TraceWarning[] = [];
  const stats = {
    files: 1,
    processes: 1,
    threads: 1,
    events: 0,
    droppedEvents: 0,
    salvagedFiles: 0,
  };
  return {
    warnings,
    tally: new Tally({
      stats,
      warnings,
      metadata: {},
      processes: new IdSet(),
      threads: new ThreadSet(),
      strict,
    }),
  };
}

Deno.test("a file that changed between the passes is said so, with the count the output holds", () => {
  const { warnings, tally: t } = tally();
  t.recount("t.json", { events: 10, skipped: 0 }, { events: 14, skipped: 0 });
  assertEquals(warnings, [{
    source: "t.json",
    message:
      "the file changed while it was read (10 array elements at first, 14 then): the output holds the 14 events read last",
  }]);
});

Deno.test("events only the second pass could not read are counted and named; --strict refuses them", () => {
  const { warnings, tally: t } = tally();
  t.recount("t.json", { events: 5, skipped: 1 }, { events: 3, skipped: 3 });
  assertEquals(warnings.length, 1);
  assertEquals(warnings[0].message.startsWith("2 events left out: not valid JSON"), true);
  throws(
    () => tally(true).tally.recount("t.json", { events: 2, skipped: 0 }, { events: 1, skipped: 1 }),
    (error) => error instanceof TracerError && /--strict refuses/.test(error.message),
  );
});

Deno.test("the same counts in both passes: no warning", () => {
  const { warnings, tally: t } = tally();
  t.recount("t.json", { events: 5, skipped: 1 }, { events: 5, skipped: 1 });
  assertEquals(warnings, []);
});
