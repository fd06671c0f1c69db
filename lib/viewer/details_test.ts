import { deepEqual as assertEquals } from "node:assert/strict";
import { modelFromEvents, slice } from "../report/testing.ts";
import { argsRows, instantDetails, sliceDetails, splitName } from "./details.ts";

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

Deno.test("a call's arguments are name = value lines, its return value a row; other args JSON", () => {
  const long = `[${"0, ".repeat(70)}...`;
  const model = modelFromEvents([
    slice("compute (/app/a.py:12)", 0, 10, {
      args: { func_args: { a: "1", b: "'x'" }, return_value: "3" },
    }),
    slice("load (/app/a.py:20)", 20, 10, {
      args: { func_args: { rows: long }, unfinished: true },
    }),
    slice("gc", 40, 5, { args: { generation: 0, collected: 12, uncollectable: 0 } }),
    slice("noop (/app/a.py:30)", 50, 5, { args: { func_args: {}, return_value: "None" } }),
  ]);
  const track = model.tracks[0];
  const rows = (k: number) => Object.fromEntries(sliceDetails(model, track, k));
  assertEquals(rows(0).Arguments, "a = 1\nb = 'x'");
  assertEquals(rows(0)["Return value"], "3");
  assertEquals(rows(0).Args, undefined);
  assertEquals(rows(1).Arguments, `rows = ${long}`);
  assertEquals(rows(1)["Return value"], undefined, "a call still running returned nothing");
  assertEquals(JSON.parse(rows(1).Args), { unfinished: true });
  assertEquals(rows(2).Arguments, undefined);
  assertEquals(JSON.parse(rows(2).Args), { generation: 0, collected: 12, uncollectable: 0 });
  assertEquals([rows(3).Arguments, rows(3)["Return value"]], ["(none)", "None"]);
  // The rows come after the thread, in this order.
  const labels = sliceDetails(model, track, 0).map(([label]) => label);
  assertEquals(labels.slice(labels.indexOf("Thread")), ["Thread", "Arguments", "Return value"]);
});

Deno.test("args that are not a JSON object, or odd func_args, still show", () => {
  assertEquals(argsRows('{"func_args":{"a":1,"b":null},"return_value":[1,2]}'), [
    ["Arguments", "a = 1\nb = null"],
    ["Return value", "[1,2]"],
  ]);
  assertEquals(argsRows('{"func_args":"a=1"}'), [["Args", '{\n  "func_args": "a=1"\n}']]);
  assertEquals(argsRows('{"func_args":{"a":"1"'), [["Args", '{"func_args":{"a":"1"']]);
  assertEquals(argsRows("[1]"), [["Args", "[\n  1\n]"]]);
});

Deno.test("an exception's details: type, message, re-raised, where; other instants their args", () => {
  const T = 2 ** 30 + 3;
  const model = modelFromEvents([
    { ph: "M", name: "process_name", pid: 7, args: { name: "python3 app.py" } },
    { ph: "M", name: "thread_name", pid: 7, tid: 7, args: { name: "MainThread" } },
    { ph: "M", name: "thread_name", pid: 7, tid: T, args: { name: "Task-3 fetch()" } },
    slice("handle (/app/a.py:40)", 0, 100, { pid: 7, tid: 7 }),
    slice("validate (/app/a.py:30)", 10, 40, { pid: 7, tid: 7 }),
    {
      ph: "i",
      s: "t",
      name: "ValueError",
      cat: "exception",
      ts: 45,
      pid: 7,
      tid: 7,
      args: { type: "ValueError", message: "bad value: -1" },
    },
    {
      ph: "i",
      s: "t",
      name: "ValueError",
      cat: "exception",
      ts: 60,
      pid: 7,
      tid: 7,
      args: { type: "ValueError", message: "bad value: -1", reraised: true },
    },
    {
      ph: "i",
      s: "t",
      name: "checkpoint",
      cat: "instant",
      ts: 200,
      pid: 7,
      tid: T,
      args: { step: 3 },
    },
    { ph: "i", s: "t", name: "TimeoutError", cat: "exception", ts: 210, pid: 7, tid: T, args: {} },
  ]);
  const rows = (i: number) => Object.fromEntries(instantDetails(model, i));
  assertEquals(rows(0), {
    Type: "ValueError",
    Message: "bad value: -1",
    Category: "exception",
    Time: "45.0 µs",
    Process: "python3 app.py (pid 7)",
    Thread: "MainThread (tid 7)",
    In: "validate",
  });
  assertEquals(rows(1)["Re-raised"], "yes: the same exception raised again");
  assertEquals(rows(1).In, "handle");
  assertEquals(rows(2), {
    Name: "checkpoint",
    Category: "instant",
    Time: "200 µs",
    Process: "python3 app.py (pid 7)",
    Thread: "Task-3 fetch() (asyncio task)",
    Args: '{\n  "step": 3\n}',
  });
  // Without args, an exception is still named by its event.
  assertEquals([rows(3).Type, rows(3).Message], ["TimeoutError", "(none)"]);
});
