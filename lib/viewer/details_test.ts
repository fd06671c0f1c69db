import { deepEqual as assertEquals } from "node:assert/strict";
import { modelFromEvents, slice } from "../report/testing.ts";
import { sliceDetails, splitName } from "./details.ts";

Deno.test("names split into function and file:line; C functions have no location", () => {
  assertEquals(splitName("Pool.map (/usr/lib/python3.11/multiprocessing/pool.py:362)"), {
    func: "Pool.map",
    location: "/usr/lib/python3.11/multiprocessing/pool.py:362",
  });
  assertEquals(splitName("time.sleep"), { func: "time.sleep", location: "" });
  assertEquals(splitName("f (not a location)"), { func: "f (not a location)", location: "" });
});

Deno.test("details list function, location, times, depth, process, thread, args", () => {
  const model = modelFromEvents([
    { ph: "M", name: "process_name", pid: 7, args: { name: "python3 app.py" } },
    { ph: "M", name: "thread_name", pid: 7, tid: 8, args: { name: "worker" } },
    slice("run (/app/a.py:10)", 0, 2000, { pid: 7, tid: 8 }),
    slice("step (/app/a.py:20)", 500, 1000, {
      pid: 7,
      tid: 8,
      args: { unfinished: true, n: 3 },
    }),
  ]);
  const track = model.tracks[0];
  const rows = Object.fromEntries(sliceDetails(model, track, 1));
  assertEquals(rows.Function, "step");
  assertEquals(rows.Location, "/app/a.py:20");
  assertEquals(rows.Category, "py");
  assertEquals(rows.Start, "500 µs");
  assertEquals(rows.Duration, "1.00 ms");
  assertEquals(rows["Self time"], "1.00 ms");
  assertEquals(rows.Depth, "1");
  assertEquals(rows.Process, "python3 app.py (pid 7)");
  assertEquals(rows.Thread, "worker (tid 8)");
  assertEquals(rows["Called by"], "run");
  assertEquals(JSON.parse(rows.Args), { unfinished: true, n: 3 });
  assertEquals(typeof rows.Unfinished, "string");
});
