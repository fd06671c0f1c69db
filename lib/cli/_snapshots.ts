/**
 * `--flight S` snapshots: a SIGUSR2 to tracer while the program runs writes every process's last S
 * seconds so far to a new file beside the output (`result.flight-1.html` for `-o result.html`; with
 * `--pid_suffix`, a new folder `DIR/flight-1/` of per-process files), created exclusively, and
 * says so in one line. The program runs on: the raw files are read from outside
 * (lib/raw/snapshot.ts). SIGUSR2 is tracer's own: it never reaches the program.
 * @module
 */
import { join } from "node:path";
import { combineFiles } from "../combine/combine.ts";
import { probeRawFiles } from "../combine/raw_source.ts";
import { reasonOf } from "../errors.ts";
import { convertRawFiles } from "../raw/raw_files.ts";
import { snapshotRawFiles } from "../raw/snapshot.ts";
import type { OutputSpec } from "../report/output_spec.ts";
import { writeOutput } from "../report/write_output.ts";
import type { TraceWarning } from "../trace_event.ts";
import { noteFlight } from "./_flight.ts";
import type { Reporter } from "./_reporter.ts";
import { grouped } from "./_summary.ts";

/** What snapshots need of the run. */
export interface SnapshotOptions {
  /** The run's raw files. */
  dataDir: string;
  /** A private dir for the copies (removed after each snapshot). */
  tempDir: string;
  /** The run's output, or null with `--pid_suffix`. */
  output: OutputSpec | null;
  /** The resolved output path, or null with `--pid_suffix`. */
  outputPath: string | null;
  /** The `--pid_suffix` folder, or null. */
  pidSuffixDir: string | null;
  report: Reporter;
}

/** `result.html` -> `result.flight-2.html` (k = 2), `out.json.gz` -> `out.flight-2.json.gz`. */
export function snapshotPath(output: string, k: number): string {
  const extension = /(\.json\.gz|\.json|\.html?)$/i.exec(output);
  return extension === null
    ? `${output}.flight-${k}`
    : `${output.slice(0, extension.index)}.flight-${k}${extension[0]}`;
}

/** Takes a snapshot at each SIGUSR2, one after the other, until closed. */
export class FlightSnapshots implements Disposable {
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  #copies = 0;
  readonly #listener = () => this.request();
  readonly #listening: boolean;

  constructor(private readonly options: SnapshotOptions) {
    this.#listening = Deno.build.os !== "windows";
    if (this.#listening) Deno.addSignalListener("SIGUSR2", this.#listener);
  }

  /** Queues a snapshot (after the one being written, if any). */
  request(): void {
    if (this.#closed) {
      this.options.report("tracer: SIGUSR2: the program has ended, its output comes next");
      return;
    }
    this.#chain = this.#chain.then(() => this.#take()).catch((error) => {
      this.options.report(`tracer: the flight snapshot failed: ${reasonOf(error)}`);
    });
  }

  /** Waits for the snapshots asked for so far; later requests are only answered. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#chain;
  }

  [Symbol.dispose](): void {
    if (this.#listening) Deno.removeSignalListener("SIGUSR2", this.#listener);
  }

  async #take(): Promise<void> {
    const { dataDir, tempDir, report } = this.options;
    const copies = join(tempDir, `flight-copies-${++this.#copies}`);
    await Deno.mkdir(copies, { mode: 0o700 });
    try {
      const copied = await snapshotRawFiles(dataDir, copies);
      if (copied.files === 0) {
        report("tracer: flight snapshot: no traced process has written data yet");
        return;
      }
      report(await this.#write(copies));
    } finally {
      await Deno.remove(copies, { recursive: true }).catch(() => {});
    }
  }

  /** Writes the copies' last S seconds; returns the line that names what was written. */
  async #write(copies: string): Promise<string> {
    const { output, outputPath, pidSuffixDir } = this.options;
    const warnings: TraceWarning[] = [];
    const quiet = { warnings, report: () => {} };
    if (output === null || outputPath === null) {
      const dir = await newFolder(pidSuffixDir!);
      const paths = await convertRawFiles(copies, { ...quiet, jsonDir: dir });
      return `tracer: flight snapshot: ${paths.length} process files -> ${dir}`;
    }
    const path = await newFile(outputPath);
    try {
      const inputs = await probeRawFiles(copies, { ...quiet, jsonDir: copies });
      const trace = await combineFiles(inputs, { warnings });
      noteFlight(trace);
      await writeOutput(trace, path, { ...output, path });
      const { processes, events } = trace.stats;
      return `tracer: flight snapshot: ${grouped(processes)} processes, ${
        grouped(events)
      } events -> ${path}`;
    } catch (error) {
      await Deno.remove(path).catch(() => {});
      throw error;
    }
  }
}

/** Creates the first free `<output>.flight-<k>` file (empty, replaced by the writer). */
async function newFile(outputPath: string): Promise<string> {
  for (let k = 1;; k++) {
    const path = snapshotPath(outputPath, k);
    try {
      (await Deno.open(path, { write: true, createNew: true, mode: 0o644 })).close();
      return path;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
}

/** Creates the first free `DIR/flight-<k>` folder. */
async function newFolder(dir: string): Promise<string> {
  for (let k = 1;; k++) {
    const path = join(dir, `flight-${k}`);
    try {
      await Deno.mkdir(path);
      return path;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
}
