import assert from "node:assert/strict";
import { capTrim, eventCap } from "./cap.ts";

/** Which of `ends` (file order, one thread) a trim keeps, then how many open calls it keeps. */
function kept(cap: number, ends: number[], open = 0, loss?: { calls: number; latestNs: number }) {
  const trim = capTrim(cap, Float64Array.from(ends), open, loss);
  if (trim === undefined) return undefined;
  return {
    ends: ends.filter((end) => trim.keep(end - 0.5, end, 1)),
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
  assert.deepEqual(ends.map((end) => trim.keep(0, end, 1)), [
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
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(() => same.keep(0, 5, 1)), [
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

Deno.test("capTrim: without a gap on any thread, one instant at the end of the last head call", () => {
  const trim = capTrim(2, Float64Array.from([1000, 3000, 2000]), 0, undefined)!;
  // Threads 7 and 8 keep a head call each, no tail call; 9's call is left out.
  assert.deepEqual([trim.keep(0, 1000, 7), trim.keep(0, 3000, 8), trim.keep(0, 2000, 9)], [
    true,
    true,
    false,
  ]);
  assert.deepEqual(trim.markers(42, 5000, 1), [{
    ph: "i",
    s: "p",
    pid: 42,
    tid: 7,
    ts: 1,
    name: "1 call left out (event cap)",
    cat: "tracer",
    args: { left_out: 1, event_cap: 2 },
  }]);
});

Deno.test("capTrim: a thread's gap is marked by slices, cut where a kept call starts in it", () => {
  // cap 4: head = the 2 calls ending first (100, 200), tail = the 2 ending last (900, 1000).
  const ends = [100, 200, 300, 600, 900, 1000];
  const trim = capTrim(4, Float64Array.from(ends), 0, undefined)!;
  const keeps = [
    trim.keep(50, 100, 1), // head
    trim.keep(150, 200, 1), // head: the gap starts at 200
    trim.keep(250, 300, 1), // left out
    trim.keep(450, 600, 1), // left out, inside the next: the gap ends at 600
    trim.keep(400, 900, 1), // tail, starting in the gap: it encloses the rest of it
    trim.keep(0, 1000, 1), // tail: main(), enclosing the whole gap
  ];
  assert.deepEqual(keeps, [true, true, false, false, true, true]);
  const mark = { ph: "X", pid: 42, tid: 1, name: "2 calls left out (event cap)", cat: "tracer" };
  const args = { left_out: 2, event_cap: 4 };
  assert.deepEqual(trim.markers(42, 2000, 1), [
    { ...mark, ts: 0.201, dur: 0.198, args },
    { ...mark, ts: 0.401, dur: 0.198, args },
  ]);
});
