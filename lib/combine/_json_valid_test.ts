import assert from "node:assert/strict";
import { checkJson, isValidJson, JsonCheck } from "./_json_valid.ts";

const encoder = new TextEncoder();
const valid = (text: string | Uint8Array) => {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  return isValidJson(bytes, 0, bytes.length);
};

/** What JSON.parse (with fatal UTF-8 decoding) says of the same bytes. */
function reference(bytes: Uint8Array): boolean {
  try {
    JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return true;
  } catch {
    return false;
  }
}

Deno.test("isValidJson: the malformed elements the JSON byte path once copied are refused", () => {
  for (
    const text of [
      '{"ph":"X","dur":0..5}',
      '{"ph":"X","ts":007}',
      '{"name":"b" "x":1}',
      '{"a":1,}',
      "[1,]",
      '{"a":"tab\there"}',
      '{"a":1}}',
      '{"a":1',
      '{"a":tru}',
      '{"a":"\\q"}',
      '{"a":"\\u12G4"}',
      "-",
      "1.",
      "1e",
      "",
    ]
  ) {
    assert.equal(valid(text), false, text);
  }
  assert.equal(valid(new Uint8Array([0x22, 0xff, 0x22])), false, "invalid UTF-8");
  assert.equal(valid(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])), false, "a surrogate");
  assert.equal(valid(new Uint8Array([0x22, 0xc0, 0xaf, 0x22])), false, "an overlong form");
});

Deno.test("isValidJson: what valid JSON looks like passes", () => {
  for (
    const text of [
      '{"ph":"X","pid":1,"tid":1,"ts":5000100.5,"dur":50,"name":"main (/app/a.py:1)","cat":"py"}',
      ' { "a" : [ 1 , -0.5e+3 , true , false , null , { } , [ ] , "x\\u00e9\\n\\"" ] } ',
      '"Läuft ✓ 𝄞"',
      "0",
      "-0",
      "[[[[[]]]]]",
    ]
  ) {
    assert.equal(valid(text), true, text);
  }
  assert.equal(valid("[".repeat(100_000) + "]".repeat(100_000)), true, "deep nesting");
});

Deno.test("isValidJson agrees with JSON.parse on random mutations of events", () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const base = encoder.encode(
    '{"ph":"X","pid":1,"tid":2,"ts":1.5e3,"dur":-0.25,"name":"f é \\u00e9 \\" (a.py:1)",' +
      '"args":{"k":[1,true,null,{"x":"y"}]},"cat":"py"}',
  );
  const alphabet = encoder.encode('{}[]",:0123456789.-+eE \\ntruefalsenullu\t\u0001');
  for (let n = 0; n < 20_000; n++) {
    const bytes = base.slice();
    for (let m = 1 + Math.floor(random() * 3); m > 0; m--) {
      const at = Math.floor(random() * bytes.length);
      bytes[at] = random() < 0.1
        ? Math.floor(random() * 256)
        : alphabet[Math.floor(random() * alphabet.length)];
    }
    assert.equal(valid(bytes), reference(bytes), new TextDecoder().decode(bytes));
  }
});

Deno.test("checkJson: a \\uD8xx-\\uDFxx escape is written again; an escaped backslash or \\u00e9 is not", () => {
  const check = (text: string) => {
    const bytes = encoder.encode(text);
    return checkJson(bytes, 0, bytes.length);
  };
  assert.equal(check(String.raw`{"name":"plain"}`), JsonCheck.copy);
  assert.equal(check(String.raw`{"name":"\\ud800 is text"}`), JsonCheck.copy);
  assert.equal(check(String.raw`{"name":"\u00e9"}`), JsonCheck.copy);
  assert.equal(check(String.raw`{"name":"\"\uD83D\uDD25"}`), JsonCheck.surrogate);
  assert.equal(check(String.raw`{"name":"\\\udce9"}`), JsonCheck.surrogate);
  assert.equal(check(String.raw`{"name":"\udce9",}`), JsonCheck.invalid);
});
