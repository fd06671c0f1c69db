import assert from "node:assert/strict";
import { cleanJsonText, jsonText, spellLoneSurrogates } from "./json_text.ts";

/** True when JSON text has a `\uD800`-`\uDFFF` escape (escaped backslashes are not escapes). */
function hasSurrogateEscapes(text: string): boolean {
  return /\\u[dD][89a-fA-F]/.test(text.replaceAll("\\\\", ""));
}

Deno.test("jsonText: pairs raw, surrogateescape bytes as \\xNN, other lone surrogates as \\uNNNN", () => {
  const text = jsonText({ name: 'caf\udce9 "x" \ud83d\udd25 \ud800 \u2028' });
  assert.equal(
    text,
    String.raw`{"name":"caf\\xe9 \"x\" ` + "\ud83d\udd25" + String.raw` \\ud800 \u2028"}`,
  );
  assert.ok(!hasSurrogateEscapes(text));
  assert.equal(
    JSON.parse(text).name,
    String.raw`caf\xe9 "x" ` + "\ud83d\udd25" + String.raw` \ud800` + " \u2028",
  );
});

Deno.test("cleanJsonText: Python's ASCII escapes come out as JSON.stringify writes them", () => {
  // What Python's json.dumps writes (ensure_ascii) for the same value.
  const python = String
    .raw`{"p":"caf\udce9 \"x\" \ud83d\udd25 \u00e9 \u0022 \u005c \n \u0001 \\ud800"}`;
  const cleaned = cleanJsonText(python);
  assert.equal(
    cleaned,
    JSON.stringify({
      p: String.raw`caf\xe9 "x" ` + '\ud83d\udd25 é " \\ \n \u0001 ' + String.raw`\ud800`,
    }),
  );
  assert.ok(!hasSurrogateEscapes(cleaned));
  assert.ok(hasSurrogateEscapes(python));
  assert.equal(cleanJsonText('{"a":"plain"}'), '{"a":"plain"}');
});

Deno.test("spellLoneSurrogates: the viewer's strings read as the JSON's", () => {
  assert.equal(
    spellLoneSurrogates("caf\udce9 \ud83d\udd25"),
    String.raw`caf\xe9` + " \ud83d\udd25",
  );
  assert.equal(JSON.parse(jsonText("a\udce9\udfff")), spellLoneSurrogates("a\udce9\udfff"));
});
