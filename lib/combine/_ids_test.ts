import { deepStrictEqual as assertEquals, equal } from "node:assert/strict";
import { IdMap, idOfBytes, idOfValue, IdSet, idText, ThreadSet } from "./_ids.ts";

const encoder = new TextEncoder();
const fromBytes = (text: string) => idOfBytes(encoder.encode(text), 0, encoder.encode(text).length);

Deno.test("an id read from bytes is the id of the parsed value: numbers for safe integers", () => {
  for (
    const text of [
      "0",
      "7",
      "-3",
      "4194304",
      "9007199254740991",
      "1e3",
      "-0",
      "1.5",
      '"7"',
      '"p\\u00fc"',
      "12345678901234567890",
      "[1,2]",
      "null",
    ]
  ) {
    equal(fromBytes(text), idOfValue(JSON.parse(text)), text);
  }
  equal(fromBytes("42"), 42);
  equal(fromBytes('"42"'), '"42"', "a string pid is not the number");
  equal(fromBytes("1e3"), 1000);
  equal(Object.is(fromBytes("-0"), 0), true, "-0 is 0, as JSON.stringify writes it");
  equal(idText(fromBytes('"p\\u00fc"')), '"pü"');
});

Deno.test("IdSet and IdMap hold a million ids, numbers and others, each once", () => {
  const set = new IdSet();
  const map = new IdMap();
  for (let pid = 0; pid < 1_000_000; pid++) {
    equal(set.add(pid * 7), true);
    map.setOnce(pid * 7, pid);
  }
  equal(set.add('"a"'), true);
  equal(set.add('"a"'), false);
  equal(set.add(7), false);
  equal(set.size, 1_000_001);
  equal(set.has(6_999_993), true);
  equal(set.has(6_999_994), false);
  equal(map.get(6_999_993), 999_999);
  equal(map.get(8), undefined);
  map.setOnce(7, 5);
  equal(map.get(7), 1, "a map is written once per id");
  const ids = [...set];
  equal(ids.length, 1_000_001);
  assertEquals(ids.slice(0, 3), [0, 7, 14], "in the order added");
  equal(ids.at(-1), '"a"');
});

Deno.test("ThreadSet: (1, 12) and (11, 2) are two threads; odd ids are kept as they are", () => {
  const threads = new ThreadSet();
  equal(threads.add(1, 12), true);
  equal(threads.add(11, 2), true);
  equal(threads.add(1, 12), false);
  equal(threads.add('"a b"', 1), true);
  equal(threads.add('"a b"', 1), false);
  equal(threads.add(1, '"x"'), true);
  equal(threads.size, 4);
  assertEquals([...threads], [[1, 12], [11, 2], ['"a b"', 1], [1, '"x"']]);
});
