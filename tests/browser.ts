/**
 * A small headless-Chromium driver over the DevTools protocol, for end-to-end report tests and the
 * report benchmark: open a file:// report, block and count network requests, collect console and
 * page errors and dialogs, wait for `data-ready`/`data-error`, take screenshots, send input.
 *
 * Own CDP client over WebSocket (no npm dependency): Chromium starts with
 * `--remote-debugging-port=0` and writes the port it chose to `DevToolsActivePort`.
 * @module
 */
import { join } from "node:path";

/** Where Chromium is looked for, first match wins; `TRACER_CHROMIUM` overrides. */
const CHROMIUM_CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
];

/** Path of a Chromium executable, or `undefined` when none is installed. */
export function findChromium(): string | undefined {
  const override = Deno.env.get("TRACER_CHROMIUM");
  const candidates = override ? [override] : CHROMIUM_CANDIDATES;
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch { /* not installed here */ }
  }
  return undefined;
}

/** Options for {@linkcode launchBrowser}. */
export interface LaunchOptions {
  /** Chromium executable; default {@linkcode findChromium}. */
  executablePath?: string;
  /** Viewport size in CSS pixels; default 1280 x 800. */
  viewport?: { width: number; height: number };
  /** How long to wait for Chromium to start, in ms; default 60000 (only a hang should reach it). */
  startTimeoutMs?: number;
  /** More command-line flags for Chromium. */
  extraArgs?: string[];
}

/** A CDP event: method name and parameters. */
interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
  sessionId?: string;
}

type Pending = {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  method: string;
};

/** One WebSocket to the browser; sends commands (optionally to a session) and dispatches events. */
class CdpConnection {
  #socket: WebSocket;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #listeners = new Set<(event: CdpEvent) => void>();
  #closed = false;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (message) => this.#onMessage(String(message.data));
    socket.onclose = () => {
      this.#closed = true;
      for (const pending of this.#pending.values()) {
        pending.reject(new Error(`browser connection closed during ${pending.method}`));
      }
      this.#pending.clear();
    };
  }

  static open(url: string): Promise<CdpConnection> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.onopen = () => resolve(new CdpConnection(socket));
      socket.onerror = (event) =>
        reject(new Error(`cannot connect to Chromium at ${url}: ${(event as ErrorEvent).message}`));
    });
  }

  send<T = Record<string, unknown>>(
    method: string,
    options: { params?: Record<string, unknown>; sessionId?: string } = {},
  ): Promise<T> {
    const { params = {}, sessionId } = options;
    if (this.#closed) return Promise.reject(new Error(`browser connection closed (${method})`));
    const id = this.#nextId++;
    const message: Record<string, unknown> = { id, method, params };
    if (sessionId) message.sessionId = sessionId;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, method });
      this.#socket.send(JSON.stringify(message));
    });
  }

  on(listener: (event: CdpEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    if (!this.#closed) this.#socket.close();
  }

  #onMessage(text: string): void {
    const message = JSON.parse(text);
    if (typeof message.id === "number") {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.error) {
        pending.reject(new Error(`${pending.method}: ${message.error.message}`));
      } else {
        pending.resolve(message.result);
      }
      return;
    }
    for (const listener of this.#listeners) listener(message as CdpEvent);
  }
}

/** What {@linkcode Page.waitForReady} saw: `data-ready` (events loaded) or `data-error`. */
export type ReadyState =
  | { ready: number; error?: undefined; readyAtMs: number }
  | { ready?: undefined; error: string; readyAtMs: number };

/** Keys {@linkcode Page.press} knows besides single printable characters. */
const KEY_CODES: Record<string, { code: string; keyCode: number }> = {
  Enter: { code: "Enter", keyCode: 13 },
  Escape: { code: "Escape", keyCode: 27 },
  Tab: { code: "Tab", keyCode: 9 },
  Backspace: { code: "Backspace", keyCode: 8 },
  ArrowLeft: { code: "ArrowLeft", keyCode: 37 },
  ArrowUp: { code: "ArrowUp", keyCode: 38 },
  ArrowRight: { code: "ArrowRight", keyCode: 39 },
  ArrowDown: { code: "ArrowDown", keyCode: 40 },
  Home: { code: "Home", keyCode: 36 },
  End: { code: "End", keyCode: 35 },
  "/": { code: "Slash", keyCode: 191 },
};

/**
 * Records the time the page set `data-ready`/`data-error` (ms since navigation start), before any
 * page script runs, so load timing does not depend on polling.
 */
const READY_PROBE = `(() => {
  const record = () => {
    const root = document.documentElement;
    if (!root || window.__tracerReadyAt !== undefined) return;
    if (root.hasAttribute("data-ready") || root.hasAttribute("data-error")) {
      window.__tracerReadyAt = performance.now();
    }
  };
  new MutationObserver(record).observe(document, {
    attributes: true, subtree: true, attributeFilter: ["data-ready", "data-error"],
  });
})();`;

/** One browser tab attached over a flat CDP session. */
export class Page {
  /** URLs the page requested other than itself and data:/blob: URLs; all of them were blocked. */
  readonly requests: string[] = [];
  /** Console messages of level error and browser log errors. */
  readonly consoleErrors: string[] = [];
  /** Uncaught exceptions and unhandled rejections. */
  readonly pageErrors: string[] = [];
  /** Messages of `alert`/`confirm`/`prompt` dialogs the page opened (each was dismissed). */
  readonly dialogs: string[] = [];
  #connection: CdpConnection;
  #sessionId: string;
  #targetId: string;
  #url = "";
  #mouse = { x: 0, y: 0 };

  /** Use {@linkcode Browser.newPage}. */
  constructor(connection: CdpConnection, target: { sessionId: string; targetId: string }) {
    const sessionId = target.sessionId;
    this.#connection = connection;
    this.#sessionId = sessionId;
    this.#targetId = target.targetId;
    connection.on((event) => {
      if (event.sessionId === sessionId) this.#onEvent(event);
    });
  }

  /** Closes this tab. */
  async close(): Promise<void> {
    await this.#connection.send("Target.closeTarget", { params: { targetId: this.#targetId } })
      .catch(() => {});
  }

  /** Sends a raw CDP command to this page's session. */
  send<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<T> {
    return this.#connection.send<T>(method, { params, sessionId: this.#sessionId });
  }

  /** Navigates to `url` (a file path becomes a file:// URL) and waits for the load event. */
  async goto(url: string, options: { timeoutMs?: number } = {}): Promise<void> {
    this.#url = url.includes("://") ? url : new URL(`file://${url}`).href;
    const loaded = this.#waitForEvent("Page.loadEventFired", options.timeoutMs ?? 120_000);
    const result = await this.send<{ errorText?: string }>("Page.navigate", { url: this.#url });
    if (result.errorText) throw new Error(`cannot open ${this.#url}: ${result.errorText}`);
    await loaded;
  }

  /** Waits until `<html>` carries `data-ready` or `data-error`; throws after `timeoutMs`. */
  async waitForReady(options: { timeoutMs?: number } = {}): Promise<ReadyState> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const state = await this.evaluate<{ ready: string | null; error: string | null; at: number }>(
      `new Promise((resolve, reject) => {
        const root = document.documentElement;
        const check = () => {
          const ready = root.getAttribute("data-ready");
          const error = root.getAttribute("data-error");
          if (ready === null && error === null) return false;
          resolve({ ready, error, at: window.__tracerReadyAt ?? performance.now() });
          return true;
        };
        if (check()) return;
        const observer = new MutationObserver(() => check() && observer.disconnect());
        observer.observe(root, { attributes: true });
        setTimeout(() => reject(new Error("neither data-ready nor data-error after ${timeoutMs} ms")),
          ${timeoutMs});
      })`,
    );
    if (state.error !== null) return { error: state.error, readyAtMs: state.at };
    return { ready: Number(state.ready), readyAtMs: state.at };
  }

  /** Evaluates an expression in the page (awaiting a returned promise) and returns its value. */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const result = await this.send<{
      result: { value?: unknown };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    }>("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true });
    if (result.exceptionDetails) {
      const details = result.exceptionDetails;
      throw new Error(`page evaluation failed: ${details.exception?.description ?? details.text}`);
    }
    return result.result.value as T;
  }

  /** Saves a PNG screenshot of the viewport to `path`. */
  async screenshot(path: string): Promise<void> {
    const { data } = await this.send<{ data: string }>("Page.captureScreenshot", { format: "png" });
    const binary = atob(data);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    await Deno.writeFile(path, bytes);
  }

  /**
   * Presses and releases a key: a printable character or a name such as "Enter", "ArrowLeft".
   * `modifiers` is the CDP bit mask (1 Alt, 2 Ctrl, 4 Meta, 8 Shift); with Alt/Ctrl/Meta the key
   * types no text, as on a keyboard. `holdMs` keeps the key down that long (auto-repeat is not
   * simulated).
   */
  async press(key: string, options: { modifiers?: number; holdMs?: number } = {}): Promise<void> {
    const modifiers = options.modifiers ?? 0;
    const named = KEY_CODES[key];
    const printable = key.length === 1;
    const alphanumeric = printable && /[a-z0-9]/i.test(key);
    const code = named?.code ??
      (alphanumeric ? (/\d/.test(key) ? `Digit${key}` : `Key${key.toUpperCase()}`) : "");
    const keyCode = named?.keyCode ?? (alphanumeric ? key.toUpperCase().charCodeAt(0) : 0);
    const base = {
      key,
      code,
      windowsVirtualKeyCode: keyCode,
      nativeVirtualKeyCode: keyCode,
      modifiers,
    };
    const typing = (modifiers & 7) === 0;
    const text = !typing ? undefined : printable ? key : key === "Enter" ? "\r" : undefined;
    await this.send("Input.dispatchKeyEvent", {
      ...base,
      type: text ? "keyDown" : "rawKeyDown",
      ...(text ? { text, unmodifiedText: text } : {}),
    });
    if (options.holdMs) await delay(options.holdMs);
    await this.send("Input.dispatchKeyEvent", { ...base, type: "keyUp" });
  }

  /** Types text into the focused element as a user would, one key at a time. */
  async type(text: string): Promise<void> {
    for (const char of text) await this.press(char);
  }

  /** Moves the mouse to (x, y) in CSS pixels. */
  async mouseMove(x: number, y: number): Promise<void> {
    this.#mouse = { x, y };
    await this.send("Input.dispatchMouseEvent", { type: "mouseMoved", x, y });
  }

  /**
   * Clicks the middle of the element `selector` as a user would, once the page has stopped moving
   * it: its box is read again after two frames until it stays put and the element is what a click
   * there hits (a layout that shifts after the last step must not send the click elsewhere).
   */
  async clickElement(selector: string): Promise<void> {
    const deadline = performance.now() + 120_000;
    const probe = `(async () => {
      const box = () => document.querySelector(${
      JSON.stringify(selector)
    })?.getBoundingClientRect();
      const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
      const before = box();
      await frame();
      await frame();
      const after = box();
      if (!before || !after || before.x !== after.x || before.y !== after.y) return null;
      const x = after.x + after.width / 2, y = after.y + after.height / 2;
      const hit = document.elementFromPoint(x, y);
      const target = document.querySelector(${JSON.stringify(selector)});
      return hit && (hit === target || target.contains(hit)) ? [x, y] : null;
    })()`;
    for (;;) {
      const point = await this.evaluate<[number, number] | null>(probe);
      if (point) return await this.click(point[0], point[1]);
      if (performance.now() > deadline) throw new Error(`${selector} never held still to click`);
    }
  }

  /** Clicks the left button at (x, y). */
  async click(x: number, y: number): Promise<void> {
    await this.mouseMove(x, y);
    const common = { x, y, button: "left", clickCount: 1 };
    await this.send("Input.dispatchMouseEvent", { type: "mousePressed", buttons: 1, ...common });
    await this.send("Input.dispatchMouseEvent", { type: "mouseReleased", buttons: 0, ...common });
  }

  /** Drags with the left button from (x1, y1) to (x2, y2) in `steps` moves. */
  async drag(from: [number, number], to: [number, number], options: { steps?: number } = {}) {
    const steps = options.steps ?? 8;
    await this.mouseMove(from[0], from[1]);
    await this.send("Input.dispatchMouseEvent", {
      type: "mousePressed",
      x: from[0],
      y: from[1],
      button: "left",
      buttons: 1,
      clickCount: 1,
    });
    for (let i = 1; i <= steps; i++) {
      const x = from[0] + ((to[0] - from[0]) * i) / steps;
      const y = from[1] + ((to[1] - from[1]) * i) / steps;
      await this.send("Input.dispatchMouseEvent", {
        type: "mouseMoved",
        x,
        y,
        button: "left",
        buttons: 1,
      });
    }
    await this.send("Input.dispatchMouseEvent", {
      type: "mouseReleased",
      x: to[0],
      y: to[1],
      button: "left",
      buttons: 0,
      clickCount: 1,
    });
  }

  /** Turns the mouse wheel at the current mouse position (positive deltaY scrolls down). */
  async wheel(deltaY: number, options: { deltaX?: number; modifiers?: number } = {}) {
    await this.send("Input.dispatchMouseEvent", {
      type: "mouseWheel",
      x: this.#mouse.x,
      y: this.#mouse.y,
      deltaX: options.deltaX ?? 0,
      deltaY,
      modifiers: options.modifiers ?? 0,
    });
  }

  /**
   * Memory in use after a full garbage collection, in bytes: the JS heap, ArrayBuffer backing
   * stores (typed arrays live there, outside the JS heap) and Blink's own objects.
   */
  async memory(): Promise<{ jsHeap: number; arrayBuffers: number; embedder: number }> {
    await this.send("HeapProfiler.collectGarbage");
    const usage = await this.send<{
      usedSize: number;
      backingStorageSize?: number;
      embedderHeapUsedSize?: number;
    }>("Runtime.getHeapUsage");
    return {
      jsHeap: usage.usedSize,
      arrayBuffers: usage.backingStorageSize ?? 0,
      embedder: usage.embedderHeapUsedSize ?? 0,
    };
  }

  /** Everything unexpected the page did: requests, console errors, page errors, dialogs. */
  problems(): string[] {
    return [
      ...this.requests.map((url) => `network request: ${url}`),
      ...this.consoleErrors.map((text) => `console error: ${text}`),
      ...this.pageErrors.map((text) => `page error: ${text}`),
      ...this.dialogs.map((text) => `dialog: ${text}`),
    ];
  }

  /** Turns on the domains the page's records need, request interception and the ready probe. */
  async enable(viewport: { width: number; height: number }): Promise<void> {
    await Promise.all([
      this.send("Page.enable"),
      this.send("Runtime.enable"),
      this.send("Log.enable"),
      this.send("Network.enable"),
      this.send("Fetch.enable", { patterns: [{ urlPattern: "*" }] }),
      this.send("Page.addScriptToEvaluateOnNewDocument", { source: READY_PROBE }),
      this.send("Emulation.setDeviceMetricsOverride", {
        ...viewport,
        deviceScaleFactor: 1,
        mobile: false,
      }),
    ]);
  }

  #isOwnRequest(url: string): boolean {
    return url === this.#url || url.startsWith("data:") || url.startsWith("blob:") ||
      url === "about:blank";
  }

  #onEvent({ method, params }: CdpEvent): void {
    switch (method) {
      case "Fetch.requestPaused": {
        const request = params.request as { url: string };
        const allow = this.#isOwnRequest(request.url);
        const command = allow ? "Fetch.continueRequest" : "Fetch.failRequest";
        this.send(command, {
          requestId: params.requestId,
          ...(allow ? {} : { errorReason: "BlockedByClient" }),
        }).catch(() => {});
        break;
      }
      case "Network.requestWillBeSent": {
        const url = (params.request as { url: string }).url;
        if (!this.#isOwnRequest(url)) this.requests.push(url);
        break;
      }
      case "Network.webSocketCreated":
        this.requests.push(String(params.url));
        break;
      case "Runtime.consoleAPICalled": {
        if (params.type !== "error" && params.type !== "assert") break;
        const args = params.args as { value?: unknown; description?: string }[];
        this.consoleErrors.push(args.map((arg) => arg.description ?? String(arg.value)).join(" "));
        break;
      }
      case "Log.entryAdded": {
        const entry = params.entry as { level: string; text: string; url?: string };
        if (entry.level === "error") {
          this.consoleErrors.push(entry.url ? `${entry.text} (${entry.url})` : entry.text);
        }
        break;
      }
      case "Runtime.exceptionThrown": {
        const details = params.exceptionDetails as {
          text: string;
          exception?: { description?: string };
        };
        this.pageErrors.push(details.exception?.description ?? details.text);
        break;
      }
      case "Page.javascriptDialogOpening":
        this.dialogs.push(String(params.message));
        this.send("Page.handleJavaScriptDialog", { accept: false }).catch(() => {});
        break;
    }
  }

  #waitForEvent(method: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${method}`));
      }, timeoutMs);
      const unsubscribe = this.#connection.on((event) => {
        if (event.sessionId !== this.#sessionId || event.method !== method) return;
        unsubscribe();
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** A running headless Chromium with a private profile dir; dispose it to close and clean up. */
export class Browser implements AsyncDisposable {
  /** Milliseconds from spawn until the DevTools connection was open. */
  readonly startupMs: number;
  #process: Deno.ChildProcess;
  #connection: CdpConnection;
  #profileDir: string;
  #viewport: { width: number; height: number };

  /** Use {@linkcode launchBrowser}. */
  constructor(
    parts: {
      process: Deno.ChildProcess;
      connection: CdpConnection;
      profileDir: string;
      viewport: { width: number; height: number };
      startupMs: number;
    },
  ) {
    this.#process = parts.process;
    this.#connection = parts.connection;
    this.#profileDir = parts.profileDir;
    this.#viewport = parts.viewport;
    this.startupMs = parts.startupMs;
  }

  /** Opens a new blank tab with request blocking, error collection and the ready probe on. */
  async newPage(): Promise<Page> {
    const { targetId } = await this.#connection.send<{ targetId: string }>("Target.createTarget", {
      params: { url: "about:blank" },
    });
    const { sessionId } = await this.#connection.send<{ sessionId: string }>(
      "Target.attachToTarget",
      { params: { targetId, flatten: true } },
    );
    const page = new Page(this.#connection, { sessionId, targetId });
    await page.enable(this.#viewport);
    return page;
  }

  /** Closes the browser (killing it if it does not exit in 5 s) and removes its profile dir. */
  async close(): Promise<void> {
    await withTimeout(this.#connection.send("Browser.close").catch(() => {}), 2000);
    this.#connection.close();
    const exited = await withTimeout(this.#process.status.then(() => true), 5000);
    if (exited !== true) {
      try {
        this.#process.kill("SIGKILL");
      } catch { /* already gone */ }
      await this.#process.status;
    }
    await Deno.remove(this.#profileDir, { recursive: true }).catch(() => {});
  }

  /** Same as {@linkcode Browser.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Starts headless Chromium with a fresh private profile and connects to it over DevTools. */
export async function launchBrowser(options: LaunchOptions = {}): Promise<Browser> {
  const executable = options.executablePath ?? findChromium();
  if (!executable) throw new Error("Chromium not found (set TRACER_CHROMIUM to its path)");
  const started = performance.now();
  const profileDir = await Deno.makeTempDir({ prefix: "tracer_chromium_" });
  const viewport = options.viewport ?? { width: 1280, height: 800 };
  const process = new Deno.Command(executable, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--remote-debugging-port=0",
      `--user-data-dir=${profileDir}`,
      `--window-size=${viewport.width},${viewport.height}`,
      ...(options.extraArgs ?? []),
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const endpoint = await readDevToolsEndpoint(profileDir, {
      process,
      timeoutMs: options.startTimeoutMs ?? 60_000,
    });
    const connection = await CdpConnection.open(endpoint);
    return new Browser({
      process,
      connection,
      profileDir,
      viewport,
      startupMs: performance.now() - started,
    });
  } catch (error) {
    try {
      process.kill("SIGKILL");
    } catch { /* already gone */ }
    await process.status;
    await Deno.remove(profileDir, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** Polls `DevToolsActivePort` (line 1: port, line 2: browser target path) until it is written. */
async function readDevToolsEndpoint(
  profileDir: string,
  options: { process: Deno.ChildProcess; timeoutMs: number },
): Promise<string> {
  const file = join(profileDir, "DevToolsActivePort");
  let exited = false;
  options.process.status.then(() => exited = true);
  const deadline = performance.now() + options.timeoutMs;
  while (performance.now() < deadline) {
    if (exited) throw new Error("Chromium exited before opening its DevTools port");
    try {
      const [port, path] = (await Deno.readTextFile(file)).split("\n");
      if (port && path) return `ws://127.0.0.1:${port.trim()}${path.trim()}`;
    } catch { /* not written yet */ }
    await delay(20);
  }
  throw new Error(`Chromium did not open its DevTools port within ${options.timeoutMs} ms`);
}

/** Resolves with the promise's value, or `undefined` after `ms` (the timer is always cleared). */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: number | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => timer = setTimeout(resolve, ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
