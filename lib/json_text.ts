/**
 * JSON text as tracer writes it: every character that UTF-8 can hold goes out raw, and no string
 * ever holds a `\uD800`-`\uDFFF` escape. Perfetto UI (v52) refuses a file whose string mixes `\"`
 * with such an escape, even a valid pair, and jq 1.6 refuses a lone one. A lone surrogate cannot be
 * written as UTF-8, so it gets a visible spelling instead:
 * - U+DC80-U+DCFF, Python's surrogateescape for an undecodable byte (a file path that is not
 *   UTF-8: `café` in Latin-1), as the four characters `\xe9`: the byte, as Python prints it;
 * - any other lone surrogate as the six characters `\ud800`.
 *
 * The report's strings get the same spelling (`spellLoneSurrogates`), so the viewer shows the
 * names the JSON has. U+2028 and U+2029 are escaped too: some readers end lines at them.
 * No Deno APIs here: the report encoder and combine share it.
 * @module
 */

/** A surrogate pair escape, another `\uXXXX`, or any other escape: read in step, one by one. */
const ESCAPES = /\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\u([0-9a-f]{4})|\\./gi;
const LINE_SEPARATORS = /[\u2028\u2029]/g;
const LONE_SURROGATE = /\p{Cs}/gu;

/** `JSON.stringify(value)` written as tracer writes JSON (see the module doc). */
export function jsonText(value: unknown): string {
  return cleanJsonText(JSON.stringify(value));
}

/**
 * JSON text (from `JSON.stringify`, or Python's ASCII-only `json.dumps`) with its strings written
 * as `jsonText` writes them: a `\uXXXX` escape of a character `JSON.stringify` writes raw becomes
 * that character (a surrogate pair too), a lone surrogate is spelled (module doc). So a string
 * value reads the same in both, and the text of one can be found in the other.
 */
export function cleanJsonText(text: string): string {
  if (text.includes("\\u")) text = text.replace(ESCAPES, unescape);
  if (text.includes("\u2028") || text.includes("\u2029")) {
    text = text.replace(LINE_SEPARATORS, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  }
  return text;
}

/** The string with each lone surrogate spelled as `cleanJsonText` spells it (`\xe9`, `\ud800`). */
export function spellLoneSurrogates(value: string): string {
  return value.isWellFormed() ? value : value.replace(LONE_SURROGATE, spelling);
}

function unescape(
  escape: string,
  high: string | undefined,
  low: string | undefined,
  unit: string | undefined,
): string {
  if (high !== undefined) return String.fromCharCode(parseInt(high, 16), parseInt(low!, 16));
  if (unit === undefined) return escape;
  const code = parseInt(unit, 16);
  const char = String.fromCharCode(code);
  // As JSON.stringify writes the character (U+2028/2029 are escaped afterwards), or spelled.
  const written = code >= 0xd800 && code <= 0xdfff ? spelling(char) : char;
  return JSON.stringify(written).slice(1, -1);
}

/** `\xe9` for U+DCE9 (surrogateescape), `\ud800` for other lone surrogates. */
function spelling(surrogate: string): string {
  const code = surrogate.charCodeAt(0);
  if (code >= 0xdc80 && code <= 0xdcff) return `\\x${(code - 0xdc00).toString(16)}`;
  return `\\u${code.toString(16)}`;
}
