/**
 * `--combine` under hostile input (issue 24): seeded random mutations of real trace files plus the
 * structural attacks of the fuzzing campaign, a few hundred cases, each run through the CLI and held
 * to the promises: valid output (JSON, gzip JSON, a whole report) or one clear line on stderr and a
 * non-zero exit, never a stack trace; no temp file left; bounded time and memory. A failing case
 * is printed with the run's seed and its label: `TRACER_FUZZ_SEED=<seed> TRACER_FUZZ_ONLY="<label>"
 * deno test -A tests/combine_fuzz_test.ts` replays it alone.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { FIXTURES, ROOT, seededRandom, tempDir } from "./helpers.ts";

const SEED = Number(Deno.env.get("TRACER_FUZZ_SEED") ?? 20261207);
const CASES = Number(Deno.env.get("TRACER_FUZZ_CASES") ?? 500);
const ONLY = Deno.env.get("TRACER_FUZZ_ONLY");
const TIME_LIMIT_MS = 30_000;
const RSS_LIMIT_MIB = 600;
const GNU_TIME = "/usr/bin/time";
const encoder = new TextEncoder();

/** One case: input files (name -> bytes) and the command's extra options. */
interface Case {
  label: string;
  files: Map<string, Uint8Array>;
  output: string;
  strict: boolean;
}

const SEED_FILES = [
  "run1/result_100.json",
  "run1/result_100_1.json",
  "run1/result_101.json",
  "viztracer.json",
  "chrome_export.json",
  "bad_middle.json",
].map((name) => Deno.readFileSync(join(FIXTURES, "combine", name)));

const TOKENS = [
  ",",
  "]",
  "}",
  "{",
  "[",
  '"',
  "\\",
  "\u0000",
  "\u001b[2J",
  "NaN",
  "1e999",
  "-1e20",
  "0..5",
  "007",
  '"ts":"12"',
  '"ts":null',
  "\xff\xfe",
  "\ud800",
  "  \n\t",
];

/** A mutation of a real trace: 1-3 byte edits, sometimes gzip-wrapped (or a broken gzip). */
function mutated(next: () => number, index: number): Case {
  const pick = <T>(list: T[]) => list[Math.floor(next() * list.length)];
  let bytes: Uint8Array = pick(SEED_FILES).slice();
  const edits = 1 + Math.floor(next() * 3);
  for (let k = 0; k < edits; k++) {
    const at = Math.floor(next() * bytes.length);
    const op = Math.floor(next() * 5);
    if (op === 0 && bytes.length > 0) bytes[at] ^= 1 << Math.floor(next() * 8);
    else if (op === 1) bytes = concat(bytes.subarray(0, at), bytes.subarray(at + 1 + next() * 40));
    else if (op === 2) {
      const end = Math.min(bytes.length, at + 1 + Math.floor(next() * 200));
      bytes = concat(bytes.subarray(0, end), bytes.subarray(at));
    } else if (op === 3) {
      bytes = concat(bytes.subarray(0, at), encoder.encode(pick(TOKENS)), bytes.subarray(at));
    } else bytes = bytes.subarray(0, at);
  }
  let name = `m${index}.json`;
  const wrap = next();
  if (wrap < 0.15) {
    bytes = gzipSync(bytes);
    name += ".gz";
  } else if (wrap < 0.2) {
    bytes = gzipSync(bytes).subarray(0, Math.floor(next() * 40) + 10); // cut inside the stream
    name += ".gz";
  }
  const files = new Map<string, Uint8Array>([[name, bytes]]);
  if (next() < 0.3) files.set("other.json", pick(SEED_FILES)); // next to a good file
  return {
    label: `mutation ${index}`,
    files,
    output: pick(["out.json", "out.json.gz", "out.html"]),
    strict: next() < 0.2,
  };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const event = (fields: string) => `{"ph":"X","pid":1,"tid":1,"ts":1,"dur":1,"name":"a"${fields}}`;

/** The structural attacks: one case each, with every output format in turn. */
function attacks(): [string, Map<string, Uint8Array>][] {
  const text = (name: string, value: string) => new Map([[name, encoder.encode(value)]]);
  const many = Array.from(
    { length: 20_000 },
    (_, pid) => `{"ph":"X","pid":${pid},"tid":1,"ts":${pid},"dur":1,"name":"p"}`,
  );
  return [
    ["deep nesting", text("deep.json", `[${event(`,"args":${"[".repeat(100_000)}`)}]`)],
    ["a 5 MB name", text("long.json", `[${event("").replace('"a"', `"${"n".repeat(5 << 20)}"`)}]`)],
    [
      "absurd timestamps",
      text("ts.json", `[${event("")},${event("").replace('"ts":1', '"ts":-1e20')}]`),
    ],
    [
      "ts 1e400 and a string ts",
      text(
        "ts2.json",
        `[${event("").replace("1,", "1e400,")},${event("").replace('"ts":1', '"ts":"9"')}]`,
      ),
    ],
    ["a lone brace", text("brace.json", "{")],
    ["an empty file", text("empty.json", "")],
    ["whitespace only", text("space.json", " \n\t ".repeat(10_000))],
    ["a byte order mark", text("bom.json", `\ufeff[${event("")}]`)],
    ["NUL bytes after the array", text("nul.json", `{"traceEvents":[${"\u0000".repeat(100_000)}`)],
    [
      "control characters and escapes",
      text("esc.json", `[${event("").replace('"a"', '"\u001b]0;pwned\u0007\\u001b[2J"')}]`),
    ],
    ["a missing comma", text("comma.json", `[${event("")} ${event("")}]`)],
    ["a trailing comma", text("trail.json", `[${event("")},]`)],
    ["numbers that are not JSON", text("num.json", `[${event(',"x":0..5,"y":007')}]`)],
    ["traceEvents not an array", text("obj.json", '{"traceEvents":{"a":1}}')],
    ["duplicate keys", text("dup.json", '{"traceEvents":[],"traceEvents":[' + event("") + "]}")],
    ["20,000 pids", text("pids.json", `[${many.join(",")}]`)],
    ["a file name with ESC and a newline", text("bad\u001b[2Jname\n.json", `[${event("")}]`)],
    [
      "multi-member gzip",
      new Map([[
        "mm.json.gz",
        concat(
          gzipSync(encoder.encode(`[${event("")},`)),
          gzipSync(encoder.encode(`${event("")}]`)),
        ),
      ]]),
    ],
    [
      "gzip with a garbage tail",
      new Map([[
        "tail.json.gz",
        concat(gzipSync(encoder.encode(`[${event("")}]`)), encoder.encode("garbage")),
      ]]),
    ],
    [
      "invalid UTF-8 in a name",
      new Map([[
        "utf.json",
        concat(
          encoder.encode(`[${event("").slice(0, -5)}`),
          new Uint8Array([0xff, 0xc3, 0x28]),
          encoder.encode('"}]'),
        ),
      ]]),
    ],
  ];
}

/** The attacks, then mutations up to CASES cases (mutation i from the seed SEED + i). */
function cases(): Case[] {
  const list: Case[] = [];
  const formats = ["out.json", "out.json.gz", "out.html"];
  attacks().forEach(([label, files], k) => {
    list.push({ label, files, output: formats[k % 3], strict: false });
  });
  for (let i = 0; list.length < CASES; i++) list.push(mutated(seededRandom(SEED + i), i));
  return ONLY === undefined ? list : list.filter((testCase) => testCase.label === ONLY);
}

/** What one run of a case broke: the promises it did not keep (empty when it kept them all). */
async function run(testCase: Case): Promise<string[]> {
  await using dir = await tempDir();
  for (const [name, bytes] of testCase.files) await Deno.writeFile(join(dir.path, name), bytes);
  const inputs = [...testCase.files.keys()];
  const args = [
    "-o",
    join(dir.path, "rss"),
    "-f",
    "%M",
    Deno.execPath(),
    "run",
    "-A",
    join(ROOT, "main.ts"),
    "-q",
    ...(testCase.strict ? ["--strict"] : []),
    "--combine",
    ...inputs,
    "-o",
    testCase.output,
  ];
  const started = performance.now();
  const result = await new Deno.Command(GNU_TIME, {
    args,
    cwd: dir.path,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(TIME_LIMIT_MS * 2),
  }).output();
  const elapsed = performance.now() - started;
  const broken: string[] = [];
  const stderr = new TextDecoder().decode(result.stderr);
  const lines = stderr.split("\n").filter((line) =>
    line !== "" && !/^Command (exited|terminated)/.test(line)
  );
  if (lines.some((line) => !line.startsWith("tracer: "))) {
    broken.push(`stderr not tracer's lines: ${stderr.slice(0, 400)}`);
  }
  if (/Uncaught|\n\s+at /.test(stderr)) broken.push("a stack trace");
  // deno-lint-ignore no-control-regex -- the control characters are what is looked for
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(stderr)) {
    broken.push("a control character on stderr");
  }
  if (elapsed > TIME_LIMIT_MS) broken.push(`took ${Math.round(elapsed)} ms`);
  const rssMiB = Number(Deno.readTextFileSync(join(dir.path, "rss")).trim().split("\n").pop()) /
    1024;
  if (rssMiB > RSS_LIMIT_MIB) broken.push(`peak RSS ${rssMiB.toFixed(0)} MiB`);
  const left = [...Deno.readDirSync(dir.path)].map((entry) => entry.name)
    .filter((name) => !testCase.files.has(name) && name !== "rss");
  if (result.code === 0) {
    if (!left.includes(testCase.output)) broken.push("exit 0 without its output");
    else {
      const problem = await outputProblem(join(dir.path, testCase.output));
      if (problem) broken.push(problem);
    }
    if (left.length > 1) broken.push(`files left: ${left.join(", ")}`);
  } else {
    if (result.code !== 1 && result.code !== 2) broken.push(`exit status ${result.code}`);
    const errors = lines.filter((line) => !line.startsWith("tracer: warning"));
    if (errors.length !== 1) broken.push(`${errors.length} error lines: ${stderr.slice(0, 400)}`);
    if (left.length > 0) broken.push(`files left after a failure: ${left.join(", ")}`);
  }
  return broken;
}

/** Why an output file is not what its format promises, or undefined. */
async function outputProblem(path: string): Promise<string | undefined> {
  let bytes = await Deno.readFile(path);
  try {
    if (path.endsWith(".gz")) {
      bytes = new Uint8Array(
        await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")))
          .arrayBuffer(),
      );
    }
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    if (path.endsWith(".html")) {
      return text.trimEnd().endsWith("</html>") ? undefined : "a report that does not end";
    }
    const value = JSON.parse(text);
    const events = Array.isArray(value) ? value : value?.traceEvents;
    return Array.isArray(events) ? undefined : "JSON without traceEvents";
  } catch (error) {
    return `invalid output: ${(error as Error).message.slice(0, 200)}`;
  }
}

Deno.test({
  name: `combine keeps its promises on ${CASES} hostile inputs (seed ${SEED})`,
  ignore: !existsSync(GNU_TIME),
  async fn() {
    const list = cases();
    const failures: string[] = [];
    let at = 0;
    const worker = async () => {
      while (at < list.length) {
        const testCase = list[at++];
        const broken = await run(testCase);
        if (broken.length > 0) {
          failures.push(
            `${testCase.label} (seed ${SEED}, -o ${testCase.output}${
              testCase.strict ? ", --strict" : ""
            }): ${broken.join("; ")}`,
          );
        }
      }
    };
    await Promise.all([worker(), worker()]);
    assert.deepEqual(failures, [], failures.join("\n"));
  },
});

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
