import { equal, rejects } from "node:assert/strict";
import { turnsFor } from "./turns.ts";

/** True when a timer set now ran before `step` returned: `step` gave the event loop a turn. */
async function gaveATurn(step: () => Promise<void>): Promise<boolean> {
  let ran = false;
  const timer = setTimeout(() => ran = true, 0);
  await step();
  clearTimeout(timer);
  return ran;
}

Deno.test("turnsFor: one clock per stop signal, so a new pass over a small file takes no turn of its own", async () => {
  const stop = new AbortController();
  equal(turnsFor(stop.signal), turnsFor(stop.signal));
  equal(await gaveATurn(() => turnsFor(stop.signal).chunk()), true, "the first chunk: a turn");
  // 1,000 small files, one chunk each, within the turn's 50 ms: no timer each (4 ms apiece once).
  const started = performance.now();
  let turns = 0;
  for (let file = 0; file < 1000 && performance.now() - started < 40; file++) {
    if (await gaveATurn(() => turnsFor(stop.signal).chunk())) turns++;
  }
  equal(turns, 0);
  stop.abort(new Error("stopped"));
  await rejects(turnsFor(stop.signal).chunk(), /stopped/);
});

Deno.test("turnsFor: without a stop signal, nothing is ever due", async () => {
  const turns = turnsFor(undefined);
  for (let step = 0; step < 10_000; step++) equal(turns.due(), false);
  equal(await gaveATurn(() => turns.chunk()), false);
});
