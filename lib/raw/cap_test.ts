import assert from "node:assert/strict";
import { capTrim, eventCap } from "./cap.ts";

/** Which of `ends` (file order, one thread) a trim keeps, then how many open calls it keeps. */
function kept(cap: number, ends: number[], open = 0, loss?: { calls: number; latestNs: number }) {
  const trim = capTrim(cap, Float64Array.from(ends), open, loss);
  if (trim === undefined) return undefined;
  return {
    ends: ends.filter((end) => trim.keep(end, 1)),
    open: trim.open(open),
    left: trim.leftOut,
  };
}

Deno.test("eventCap: otherData.event_cap, or 0", () => {
  assert.equal(eventCap('{"event_cap":5000000}'), 5_000_000);
  assert.equal(eventCap('{"flight_s":1}'), 0);
  assert.equal(eventCap('{"event_cap":"5"}'), 0);
  assert.equal(eventCap("not json"), 0);
});

Deno.test("capTrim: nothing left out, nothing trimmed", () => {
  assert.equal(kept(4, [1, 2, 3], 1), undefined);
});

Deno.test("capTrim: the first ceil(N/2) and the last floor(N/2) calls by end, in any order", () => {
  assert.deepEqual(kept(5, [9, 1, 8, 2, 7, 3, 6, 4, 5]), {
    ends: [9, 1, 8, 2, 3],
    open: 0,
    left: 4,
  });
});

Deno.test("capTrim: calls ending at the same ns are ranked in file order", () => {
  // ends 1 1 1 | 2 2 2 2 (cap 4: head 2, tail 2): the first two 1s, the last two 2s
  const ends = [1, 2, 1, 2, 1, 2, 2];
  const trim = capTrim(4, Float64Array.from(ends), 0, undefined)!;
  assert.deepEqual(ends.map((end) => trim.keep(end, 1)), [
    true,
    false,
    true,
    false,
    false,
    true,
    true,
  ]);
  // all equal: the first two and the last two
  const same = capTrim(4, Float64Array.from([5, 5, 5, 5, 5, 5]), 0, undefined)!;
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(() => same.keep(5, 1)), [
    true,
    true,
    false,
    false,
    true,
    true,
  ]);
});

Deno.test("capTrim: open calls end last, outermost kept first; recycled calls are counted", () => {
  assert.deepEqual(kept(4, [1, 2, 3, 4], 3), { ends: [1, 2], open: 2, left: 3 });
  assert.deepEqual(kept(6, [1, 2, 10, 11], 0, { calls: 5, latestNs: 9 }), {
    ends: [1, 2, 10, 11],
    open: 0,
    left: 5,
  });
});

Deno.test("capTrim: the tail takes no call that ended before the latest recycled one", () => {
  // 3 ended before the latest recycled call (5): its neighbours may be gone, so it is not kept
  assert.deepEqual(kept(4, [1, 2, 3, 6], 0, { calls: 10, latestNs: 5 }), {
    ends: [1, 2, 6],
    open: 0,
    left: 11,
  });
});

Deno.test("capTrim: the marker sits at the end of the last head call, on its thread", () => {
  const trim = capTrim(2, Float64Array.from([1000, 3000, 2000]), 0, undefined)!;
  assert.deepEqual([trim.keep(1000, 7), trim.keep(3000, 8), trim.keep(2000, 9)], [
    true,
    true,
    false,
  ]);
  assert.deepEqual(trim.marker(42, 5000, 1), {
    ph: "i",
    s: "p",
    pid: 42,
    tid: 7,
    ts: 1,
    name: "1 call left out (event cap)",
    cat: "tracer",
    args: { left_out: 1, event_cap: 2 },
  });
});
