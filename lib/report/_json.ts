/**
 * Writes a combined trace as Chrome Trace Event JSON:
 * `{"traceEvents":[` one event per line `],"otherData":{...}}`, gzipped when the path ends in `.gz`.
 * Perfetto, chrome://tracing and speedscope read `traceEvents` and ignore the metadata key;
 * `tracer --combine` reads it back (see lib/combine/combine.ts).
 * @module
 */
import { openOutput, stoppedBy, type Written } from "./output_file.ts";
import { reasonOf, shortened, TracerError } from "../errors.ts";
import type { CombinedTrace } from "../trace_event.ts";
import type { CombinedTraceText } from "../combine/combine.ts";
import { jsonText } from "../json_text.ts";

const FLUSH_BYTES = 1 << 18;

/** Writes `{"traceEvents":[...one event per line...],"otherData":{...}}` (gzip if path ends in .gz) through lib/report/output_file.ts; returns bytes written and whether an existing file was replaced. */
export async function writeJson(
  trace: CombinedTrace,
  path: string,
): Promise<Written> {
  const output = await openOutput(path);
  let writable = output.writable;
  let compressed: Promise<void> | undefined;
  if (path.endsWith(".gz")) {
    const gzip = new CompressionStream("gzip");
    compressed = gzip.readable.pipeTo(output.writable);
    writable = gzip.writable as WritableStream<Uint8Array>;
  }
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  try {
    await writer.write(encoder.encode('{"traceEvents":[\n'));
    if ("eventText" in trace) {
      // The next chunk is produced while this one is written. Chunks are reused once the
      // next-but-one is requested: the stream holds at most one (high-water mark 1) while the
      // writer waits for `ready`; the gzip stream may keep its input longer, so it gets copies.
      const copy = compressed !== undefined;
      let failed: unknown;
      for await (const chunk of (trace as CombinedTraceText).eventText()) {
        await writer.ready;
        writer.write(copy ? chunk.slice() : chunk).catch((error) => failed ??= error);
        if (failed !== undefined) throw failed;
      }
      await writer.ready;
      if (failed !== undefined) throw failed;
    } else {
      let text = "";
      let first = true;
      for await (const batch of trace.events) {
        for (const event of batch) {
          text += first ? jsonText(event) : ",\n" + jsonText(event);
          first = false;
          if (text.length >= FLUSH_BYTES) {
            await writer.write(encoder.encode(text));
            text = "";
          }
        }
      }
      if (text !== "") await writer.write(encoder.encode(text));
    }
    await writer.write(encoder.encode(`\n],"otherData":${jsonText(trace.metadata)}}\n`));
    await writer.close();
    await compressed;
  } catch (error) {
    await writer.abort(error).catch(() => {});
    await compressed?.catch(() => {});
    await output.abort();
    if (error instanceof TracerError || stoppedBy(error)) throw error;
    throw new TracerError(
      `cannot write output file ${shortened(path)}: ${
        reasonOf(error)
      }; free space or choose another path with -o`,
      { cause: error },
    );
  }
  return await output.commit();
}
