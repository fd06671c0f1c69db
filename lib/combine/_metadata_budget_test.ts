import assert from "node:assert/strict";
import { KEPT_STRING, MetadataBudget } from "./_metadata_budget.ts";

Deno.test("records fit whole while they can, then their long strings go, then all but the file", () => {
  const long = "x".repeat(KEPT_STRING + 1);
  const records = [
    { file: "a.json", otherData: { note: long } },
    { file: "b.json", otherData: { note: long, pid: 2 } },
    { file: "c.json", otherData: { [long]: 1 }, more: "y".repeat(5000) },
  ];
  const cutB = {
    file: "b.json",
    otherData: { note: `(${KEPT_STRING + 1} characters left out)`, pid: 2 },
  };
  const budget = JSON.stringify(records[0]).length + JSON.stringify(cutB).length + 50;
  const fitted = new MetadataBudget(budget);
  const sources = records.map((record) => fitted.fit(record));
  assert.equal(fitted.cut, 2);
  assert.deepEqual(sources[0], records[0]);
  assert.deepEqual(sources[1], cutB);
  assert.deepEqual(sources[2], { file: "c.json", metadata_left_out: true });
  const roomy = new MetadataBudget(1 << 20);
  assert.deepEqual(records.map((record) => roomy.fit(record)), records);
  assert.equal(roomy.cut, 0);
});
