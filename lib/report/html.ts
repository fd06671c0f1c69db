/**
 * The self-contained HTML report: the page template, the compressed trace data as base64 inside
 * inert `<script type="application/octet-stream">` elements, and the bundled viewer. Streams the
 * output; nothing from the traced program is ever written as markup (it is all inside the base64).
 * @module
 */
import type { CombinedTrace } from "../trace_event.ts";
import { once } from "node:events";
import { createGzip } from "node:zlib";
import { concatBytes } from "../bytes/concat.ts";
import { reasonOf, shortened, TracerError } from "../errors.ts";
import { openOutput, stoppedBy, type Written } from "./output_file.ts";
import { type BuilderLimits, buildReport, type ReportBuilder } from "./_report_data.ts";
import type { ReportHeader } from "../report_format.ts";
import { type Turns, turnsFor } from "../turns.ts";
import template from "../viewer/template.html" with { type: "text" };
import viewerJs from "../viewer/dist/viewer.js" with { type: "text" };

const DATA_MARKER = "<!--TRACER_DATA-->";
const VIEWER_MARKER = "<!--TRACER_VIEWER-->";
/**
 * The gzip level of the report data: level 3 writes the report's varint columns 1% bigger than
 * level 6 (CompressionStream's) in 35-45% less time (measured on 2 M synthetic events).
 */
const GZIP_LEVEL = 3;
/** Compressed bytes per data element (a multiple of 3, so each element is whole base64). */
const DATA_CHUNK_BYTES = 3 * (1 << 18);

/** The viewer script, safe to inline: no `</script` or `<!--` can end or confuse the element. */
export function inlineScript(js: string): string {
  return js.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

/** The CSP `script-src` source allowing exactly `script` (the text inside its element) to run. */
export async function scriptHash(script: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(script));
  return `'sha256-${new Uint8Array(digest).toBase64()}'`;
}

/**
 * The page template with its CSP's `script-src` narrowed to the hash of `script`: no other inline
 * script, injected or not, can run. Computed from the script actually embedded, at write time, so
 * it stays right whenever the viewer changes.
 */
export async function pinScript(page: string, script: string): Promise<string> {
  const csp = /(<meta http-equiv="Content-Security-Policy"\s+content="[^"]*?script-src )[^;"]*/;
  if (!csp.test(page)) throw new Error("viewer template lacks a CSP script-src directive");
  const hash = await scriptHash(script);
  return page.replace(csp, (_, head) => head + hash);
}

/**
 * Writes one self-contained HTML report (viewer + compressed trace data) through
 * lib/report/output_file.ts. `limits` bounds the builder's memory (lib/report/_report_data.ts);
 * `stop` ends the writing at any stage once it aborts (the trace's events stop themselves).
 */
export async function writeHtml(
  trace: CombinedTrace,
  path: string,
  options: { limits?: BuilderLimits; stop?: AbortSignal } = {},
): Promise<Written> {
  const { builder, header } = await buildReport(trace, options);
  try {
    return await writeReport(builder, header, path, turnsFor(options.stop));
  } finally {
    builder.close();
  }
}

async function writeReport(
  builder: ReportBuilder,
  header: ReportHeader,
  path: string,
  turns: Turns,
): Promise<Written> {
  const script = inlineScript(viewerJs);
  const [before, rest] = splitOnce(await pinScript(template, script), DATA_MARKER);
  const [between, after] = splitOnce(rest, VIEWER_MARKER);
  const output = await openOutput(path);
  const encoder = new TextEncoder();
  try {
    const out = output.writable.getWriter();
    await out.write(encoder.encode(before));
    const gzip = createGzip({ level: GZIP_LEVEL });
    const feeding = (async () => {
      try {
        for (const chunk of builder.encode(header)) {
          if (!gzip.write(chunk)) await once(gzip, "drain");
          await turns.chunk();
        }
        gzip.end();
      } catch (error) {
        // The reading loop below then fails too, and the temp file goes (it was once left behind,
        // the error unhandled).
        gzip.destroy(error as Error);
        throw error;
      }
    })();
    feeding.catch(() => {}); // awaited below; a failure must not end the process meanwhile
    const pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async (bytes: Uint8Array) => {
      await out.write(encoder.encode(
        `<script type="application/octet-stream" class="tracer-data">${bytes.toBase64()}</script>\n`,
      ));
    };
    for await (const chunk of gzip as AsyncIterable<Uint8Array>) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < DATA_CHUNK_BYTES) continue;
      let joined = concatBytes(pending);
      while (joined.length >= DATA_CHUNK_BYTES) {
        await flush(joined.subarray(0, DATA_CHUNK_BYTES));
        joined = joined.subarray(DATA_CHUNK_BYTES);
      }
      pending.length = 0;
      pending.push(joined.slice());
      pendingBytes = joined.length;
    }
    await feeding;
    if (pendingBytes > 0) await flush(concatBytes(pending));
    await out.write(encoder.encode(between));
    await out.write(encoder.encode(`<script>${script}</script>`));
    await out.write(encoder.encode(after));
    await out.close();
    return { ...await output.commit(), skipped: header.skipped };
  } catch (error) {
    await output.abort();
    if (error instanceof TracerError || stoppedBy(error)) throw error;
    throw new TracerError(
      `cannot write HTML report ${shortened(path)}: ${
        reasonOf(error)
      }; free space or choose another path with -o`,
      { cause: error },
    );
  }
}

function splitOnce(text: string, marker: string): [string, string] {
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`viewer template lacks ${marker}`);
  return [text.slice(0, at), text.slice(at + marker.length)];
}
