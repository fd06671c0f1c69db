/**
 * End-to-end tests of the HTML report in headless Chromium: a real multi-process run and
 * hand-written per-process files open without errors or network requests, show every process and
 * thread, search and selection work as a user drives them, hostile names stay text, and corrupt
 * data shows an error. A trace of call values, exceptions, instants, counters and asyncio tasks
 * (tests/fixtures/perfetto/parity.json) shows each in the details panel, as markers, counter rows
 * and task rows. Set TRACER_TEST_SCREENSHOTS=<dir> to keep screenshots of the reports.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES, noteSkipped, runCli, tempDir, waitUntil } from "./helpers.ts";
import { type Browser, findChromium, launchBrowser, type Page } from "./browser.ts";

const REPORT_FIXTURES = join(FIXTURES, "report");
const COMBINE_FILES = ["result_2000.json", "result_2010.json"].map((name) =>
  join(REPORT_FIXTURES, "combine", name)
);
/** Every kind the traced program adds: call values, exceptions, instants, counters, gc, tasks. */
const PARITY = join(FIXTURES, "perfetto", "parity.json");
/** The synthetic tid of the first asyncio task's row (the fixture's tasks count up from it). */
const TASK = 2 ** 30 + 1;
const HOSTILE = "</script><script>alert(1)</script>";
const HOSTILE_DIR = "<img src=x onerror=alert(1)>";
const HOSTILE_ARG = "<img src=x onerror=alert(2)>";
const SCREENSHOTS = Deno.env.get("TRACER_TEST_SCREENSHOTS");
const CHROMIUM = findChromium();
const ignore = CHROMIUM === undefined;
if (ignore) {
  noteSkipped(
    "report_browser_test.ts",
    "Chromium not found (apt-get install chromium, or set TRACER_CHROMIUM)",
  );
}

Deno.test({
  name: "browser driver: reports requests, console errors, page errors and dialogs",
  ignore,
  async fn() {
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(join(REPORT_FIXTURES, "hostile_page.html"));
    assert.deepEqual((await page.waitForReady()).ready, 7);
    await page.click(20, 20);
    await page.type("ab/");
    await page.press("Enter");
    assert.deepEqual(
      await page.evaluate("document.getElementById('typed').textContent"),
      "ab/Enter",
    );
    await waitUntil(() => page.pageErrors.length > 0, "the page error");
    assert.deepEqual(page.dialogs, ["fixture dialog"]);
    assert(page.requests.some((url) => url.endsWith("/missing.png")), String(page.requests));
    assert(page.requests.includes("http://example.invalid/beacon"), String(page.requests));
    assert(page.consoleErrors.includes("fixture console error"), String(page.consoleErrors));
    assert(page.pageErrors[0].includes("undefinedFunctionCall"), page.pageErrors[0]);
  },
});

Deno.test({
  name: "report of a real run: processes, threads, search, click details, hostile names inert",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const moduleDir = join(dir.path, HOSTILE_DIR);
    await Deno.mkdir(moduleDir);
    await Deno.writeTextFile(
      join(moduleDir, "hostile_module.py"),
      "def run():\n    return sum(range(100))\n",
    );
    const report = join(dir.path, "report.html");
    const run = await runCli(
      ["--quiet", "-o", report, join(REPORT_FIXTURES, "multiprocess.py"), moduleDir],
      { cwd: dir.path },
    );
    assert.equal(run.code, 0, run.stderr);
    await using browser = await launchBrowser();
    const page = await openReport(browser, report);
    const state = await hookState(page);
    assert.ok(state.processes >= 3, `main, multiprocessing child, subprocess: ${state.processes}`);
    assert.ok(state.tracks >= 5, `3 threads in the main process + 2 children: ${state.tracks}`);
    const processes = await processOptions(page);
    assert.equal(processes.length, state.processes);
    assert.ok(
      processes.some((label) => label.includes(HOSTILE_ARG)),
      `the subprocess's hostile argv as text: ${processes.join(" | ")}`,
    );

    // 5 rounds in each of 2 threads + the multiprocessing child + the hostile function.
    assert.equal(await searchAsUser(page, "needle_search_target"), "12 matches");
    const matches = await stepThroughMatches(page, 12);
    assert.ok(matches.every((row) => row.Function === "needle_search_target"));
    const threads = new Set(matches.map((row) => row.Thread.replace(/ \(tid \d+\)$/, "")));
    assert.deepEqual([...threads].sort(), ["MainThread", HOSTILE, "worker-alpha"].sort());
    const pids = new Set(matches.map((row) => row.Process));
    assert.equal(pids.size, 2, `main process and multiprocessing child: ${[...pids]}`);

    // Keys pressed faster than the viewer draws are all handled: none is dropped while it is busy.
    await searchAsUser(page, "needle_search_target");
    for (let i = 0; i < 7; i++) await page.press("Enter");
    await waitUntil(async () => (await text(page, "#search-count")) === "7 / 12", "7 quick steps");

    // The hostile function, hostile_module.run and the module's top level (when recorded).
    const hostileCount = Number((await searchAsUser(page, "alert(1)")).split(" ")[0]);
    assert.ok(hostileCount >= 2, `matches for alert(1): ${hostileCount}`);
    const hostile = await stepThroughMatches(page, hostileCount, "button");
    const functions = hostile.map((row) => `${row.Function} ${row.Location ?? ""}`);
    assert.ok(functions.some((text) => text.startsWith(`${HOSTILE} `)), functions.join(" | "));
    assert.ok(
      functions.some((text) => text.includes(`/${HOSTILE_DIR}/hostile_module.py:`)),
      functions.join(" | "),
    );

    // Slices are too thin to hit in the whole-trace view: find one, zoom to it (F), then click it.
    await searchAsUser(page, "needle_search_target");
    await stepThroughMatches(page, 1);
    await page.press("Escape");
    await page.press("f");
    await page.press("Escape");
    const clicked = await clickSliceNamed(page, "needle_search_target");
    assert.equal(clicked.details.Function, "needle_search_target");
    assert.equal(clicked.details.Thread, clicked.tooltipThread);
    assert.ok(clicked.tooltip.includes(clicked.details.Duration), JSON.stringify(clicked));
    assert.match(clicked.details.Duration, /^[\d.]+ (ns|µs|ms|s)$/);
    await screenshot(page, "real_run.png");
    await assertInert(page);
  },
});

Deno.test({
  name:
    "report of odd names: an undecodable byte, a quote, an emoji, a control character as in the JSON",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const program = join(FIXTURES, "perfetto", "odd_names.py");
    for (const output of ["odd.html", "odd.json"]) {
      const run = await runCli(["--quiet", "-o", output, program], { cwd: dir.path });
      assert.equal(run.code, 0, run.stderr);
    }
    const events = JSON.parse(await Deno.readTextFile(join(dir.path, "odd.json"))).traceEvents as {
      name: string;
      args?: { name?: string };
    }[];
    const odd = 'caf\\xe9 "q" \u{1f525} \u0001';
    assert.ok(events.some((e) => e.name === `odd (/tmp/${odd}.py:1)`), "the JSON's name");
    assert.ok(events.some((e) => e.args?.name === `thread ${odd}`), "the JSON's thread name");
    await using browser = await launchBrowser();
    const page = await openReport(browser, join(dir.path, "odd.html"));
    assert.equal(await searchAsUser(page, "/tmp/caf"), "3 matches");
    const rows = await stepThroughMatches(page, 3);
    assert.deepEqual(rows.map((row) => `${row.Function} ${row.Location}`), [
      `<module> /tmp/${odd}.py:1`,
      `odd /tmp/${odd}.py:1`,
      `odd /tmp/${odd}.py:1`,
    ]);
    assert.ok(rows.some((row) => row.Thread.startsWith(`thread ${odd} (tid `)), rows[0].Thread);
  },
});

Deno.test({
  name: "report of hand-written per-process files: every process and thread, literal names",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const report = join(dir.path, "combined.html");
    const run = await runCli(["--combine", ...COMBINE_FILES, "-o", report]);
    assert.equal(run.code, 0, run.stderr);
    await using browser = await launchBrowser();
    const page = await openReport(browser, report);
    assert.equal(await readyCount(page), 13);
    assert.deepEqual(await processOptions(page), [
      `python3 /home/dev/app/main.py ${HOSTILE_ARG} (pid 2000)`,
      "python3 /home/dev/app/main.py (pid 2010)",
    ]);
    const threads: string[] = [];
    for (const [pid, tid] of [[2000, 2000], [2000, 2001], [2000, 2002], [2010, 2010]]) {
      const rows = await page.evaluate<[string, string][] | null>(
        `__tracer.select(${pid}, ${tid}, 0)`,
      );
      assert.ok(rows, `thread ${pid}/${tid} is in the report`);
      threads.push(Object.fromEntries(rows).Thread);
      assert.equal((await detailsRows(page)).Thread, Object.fromEntries(rows).Thread);
    }
    assert.deepEqual(threads, [
      "MainThread (tid 2000)",
      "worker-alpha (tid 2001)",
      `${HOSTILE} (tid 2002)`,
      "MainThread (tid 2010)",
    ]);
    assert.equal((await hookState(page)).tracks, 4);

    assert.equal(await searchAsUser(page, "needle_search"), "5 matches");
    const first = (await stepThroughMatches(page, 1))[0];
    assert.equal(first.Function, "needle_search_target");
    assert.equal(first.Duration, "400 µs");
    assert.equal(first.Thread, "MainThread (tid 2000)");
    assert.equal(await text(page, "#search-count"), "1 / 5");

    const summary = await text(page, "#panel-body");
    await page.clickElement("#tab-summary");
    const table = await text(page, "#panel-body table.stats");
    assert.ok(table.includes(`${HOSTILE} (/home/dev/app/main.py:30)`), table);
    assert.ok(table.includes(`run (/home/dev/${HOSTILE_DIR}/hostile_module.py:1)`), table);
    assert.notEqual(summary, table);

    await pressEscapeAndReset(page);
    const clicked = await clickSliceNamed(page, "mp_child");
    assert.deepEqual(
      [clicked.details.Function, clicked.details.Duration, clicked.details.Thread],
      ["mp_child", "6.00 ms", "MainThread (tid 2010)"],
    );
    assert.equal(clicked.details.Process, "python3 /home/dev/app/main.py (pid 2010)");
    await screenshot(page, "combined.png");
    await assertInert(page);
  },
});

/** An instant as `__tracer.instants()` lists it. */
interface HookInstant {
  index: number;
  pid: number;
  tid: number;
  ts: number;
  name: string;
  cat: string;
  args: Record<string, unknown> | null;
  x: number | null;
  y: number | null;
}

Deno.test({
  name: "report of call values, exceptions, instants, counters and asyncio tasks (parity.json)",
  ignore,
  async fn(t) {
    await using dir = await tempDir();
    const report = join(dir.path, "parity.html");
    const run = await runCli(["--combine", PARITY, "-o", report]);
    assert.equal(run.code, 0, run.stderr);
    await using browser = await launchBrowser();
    const page = await openReport(browser, report);

    await t.step("a call's arguments and return value in the details panel", async () => {
      assert.equal(await searchAsUser(page, "compute ("), "1 matches");
      const [details] = await stepThroughMatches(page, 1);
      assert.equal(details.Function, "compute");
      assert.deepEqual(await valueLines(page, "Arguments"), ["a = 1", "b = 'x'"]);
      assert.deepEqual(await valueLines(page, "Return value"), ["3"]);
      // A repr the tracer cut (at 200 characters, "..." at its end) is shown whole, wrapped.
      assert.equal(await searchAsUser(page, "summarize"), "1 matches");
      await stepThroughMatches(page, 1);
      const lines = await valueLines(page, "Arguments");
      assert.equal(lines.length, 2, lines.join(" | "));
      assert.match(lines[0], /^rows = \[\{'id': 0, 'name': 'row-0'\}, .*\.\.\.$/);
      assert.equal(lines[1], "precision = 2");
      assert.deepEqual(await valueLines(page, "Return value"), ["{'count': 50, 'mean': 24.5}"]);
      // Other args keep their JSON: a gc pass's counts, a span's own args.
      const gc = await page.evaluate<[string, string][]>(`__tracer.select(4100, 4102, 1)`);
      const gcRows = Object.fromEntries(gc);
      assert.equal(gcRows.Function, "gc");
      assert.deepEqual(JSON.parse(gcRows.Args), {
        generation: 2,
        collected: 310,
        uncollectable: 2,
      });
      assert.equal(gcRows.Arguments, undefined);
      await pressEscapeAndReset(page);
    });

    await t.step("an exception's marker: hover, click, type and message", async () => {
      await page.evaluate("__tracer.expandAll(true)");
      await page.evaluate("__tracer.setView(2000, 4000)");
      const instants = await page.evaluate<HookInstant[]>("__tracer.instants()");
      assert.deepEqual(
        instants.map((i) => `${i.name}/${i.cat}/${i.tid}`),
        [
          "ValueError/exception/4100",
          "ValueError/exception/4100",
          "checkpoint/instant/4100",
          `TimeoutError/exception/${TASK + 2}`,
          "KeyError/exception/4200",
        ],
      );
      const raised = instants[0];
      assert.ok(raised.x !== null && raised.y !== null, "the marker is drawn in this view");
      await page.mouseMove(raised.x, raised.y);
      await waitUntil(
        async () => (await text(page, "#tooltip b")) === "ValueError",
        "the exception's tooltip",
      );
      assert.ok((await text(page, "#tooltip")).includes("bad value: -1"));
      await page.click(raised.x, raised.y);
      await waitUntil(
        async () => (await detailsRows(page)).Type === "ValueError",
        "the clicked exception's details",
      );
      const rows = await detailsRows(page);
      assert.equal(rows.Message, "bad value: -1");
      assert.equal(rows.In, "validate", "raised in validate()");
      assert.equal(rows.Thread, "MainThread (tid 4100)");
      assert.equal(rows["Re-raised"], undefined);
      const state = await page.evaluate<{ instant: { index: number }; selected: unknown }>(
        "__tracer.state()",
      );
      assert.deepEqual([state.instant.index, state.selected], [0, null]);
      // Re-raised by the caller, in a task's row, and in another process (found by search).
      const reraised = Object.fromEntries(
        await page.evaluate<[string, string][]>("__tracer.selectInstant(1)"),
      );
      assert.deepEqual([reraised.In, reraised["Re-raised"]], [
        "handle",
        "yes: the same exception raised again",
      ]);
      const timeout = Object.fromEntries(
        await page.evaluate<[string, string][]>("__tracer.selectInstant(3)"),
      );
      assert.deepEqual([timeout.Type, timeout.Message, timeout.Thread], [
        "TimeoutError",
        "fetch took longer than 0.5 s",
        "Task-3 fetch() (asyncio task)",
      ]);
      assert.equal(await searchAsUser(page, "KeyError"), "1 matches");
      const [found] = await stepThroughMatches(page, 1);
      assert.deepEqual([found.Type, found.Message, found.Process], [
        "KeyError",
        "'missing'",
        "python3 -m worker (pid 4200)",
      ]);
      const checkpoint = Object.fromEntries(
        await page.evaluate<[string, string][]>("__tracer.selectInstant(2)"),
      );
      assert.deepEqual([checkpoint.Name, checkpoint.Category, JSON.parse(checkpoint.Args)], [
        "checkpoint",
        "instant",
        { step: 3, phase: "warmup" },
      ]);
      await pressEscapeAndReset(page);
    });

    await t.step("counter rows under their process; hovering says the value", async () => {
      await page.evaluate("__tracer.expandAll(true)");
      const counters = await page.evaluate<
        { pid: number; name: string; y: number; height: number; samples: number }[]
      >("__tracer.counters()");
      assert.deepEqual(counters.map((c) => `${c.pid} ${c.name} ${c.samples}`), [
        "4100 queue pending 4",
        "4100 queue done 4",
        "4100 memory rss_mb 4",
        "4200 progress 3",
      ]);
      const pending = counters[0];
      const x = await page.evaluate<number>("__tracer.xAt(15000)");
      await page.mouseMove(x, pending.y + pending.height / 2);
      await waitUntil(
        async () => (await text(page, "#tooltip b")) === "queue pending = 2",
        "the counter's value at 15 ms (2 since 11 ms)",
      );
    });

    await t.step("task rows come right after their event loop's thread", async () => {
      const order = async () =>
        (await page.evaluate<{ pid: number; tid: number | null; task: boolean }[]>(
          "__tracer.tracks()",
        )).filter((lane) => lane.pid === 4100 && lane.tid !== null)
          .map((lane) => `${lane.tid}${lane.task ? " task" : ""}`);
      const expected = [
        "4100",
        `${TASK} task`,
        `${TASK + 1} task`,
        `${TASK + 2} task`,
        "4101",
        `${TASK + 3} task`,
        "4102",
      ];
      assert.deepEqual(await order(), expected, "expanded");
      await screenshot(page, "parity.png");
      await page.evaluate("__tracer.expandAll(false)");
      assert.deepEqual(await order(), expected, "collapsed");
    });
    await assertInert(page);
  },
});

Deno.test({
  name: "report: a value longer than the panel shows is cut, all of it a click away",
  ignore,
  async fn() {
    await using dir = await tempDir();
    // VizTracer does not cut its reprs: a 1000-character one.
    const long = `'${"x".repeat(998)}'`;
    const trace = join(dir.path, "long.json");
    await Deno.writeTextFile(
      trace,
      JSON.stringify({
        traceEvents: [{
          ph: "X",
          pid: 1,
          tid: 1,
          ts: 0,
          dur: 10,
          name: "f (/app/a.py:1)",
          cat: "py",
          args: { func_args: { s: long }, return_value: long },
        }],
      }),
    );
    const report = join(dir.path, "long.html");
    const run = await runCli(["--combine", trace, "-o", report]);
    assert.equal(run.code, 0, run.stderr);
    await using browser = await launchBrowser();
    const page = await openReport(browser, report);
    await page.evaluate("__tracer.select(1, 1, 0)");
    const cut = await valueLines(page, "Arguments");
    assert.equal(cut.length, 1);
    assert.ok(cut[0].startsWith(`s = '${"x".repeat(200)}`), cut[0]);
    assert.ok(cut[0].endsWith("… (1,004 characters: click for all)"), cut[0]);
    const title = `document.querySelector("#panel-body .value-line").title`;
    assert.equal(await page.evaluate(title), `s = ${long}`);
    // The panel scrolls: the row is below its fold, as a user would first scroll to it.
    await page.evaluate(`document.querySelector("#panel-body .value-line").scrollIntoView()`);
    await page.clickElement("#panel-body .value-line");
    assert.deepEqual(await valueLines(page, "Arguments"), [`s = ${long}`]);
    await assertInert(page);
  },
});

Deno.test({
  name: "report with a corrupt or truncated data block shows the error instead of a timeline",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const report = join(dir.path, "good.html");
    const run = await runCli(["--combine", ...COMBINE_FILES, "-o", report]);
    assert.equal(run.code, 0, run.stderr);
    const html = await Deno.readTextFile(report);
    const open = html.indexOf('class="tracer-data">');
    assert.ok(open > 0, "the report embeds its data in script.tracer-data elements");
    const start = open + 'class="tracer-data">'.length;
    const end = html.indexOf("</script>", start);
    const damaged = {
      "not gzip": html.slice(0, start) + btoa("this is not gzip data") + html.slice(end),
      "truncated": html.slice(0, start) + html.slice(start, start + (end - start) / 2) +
        html.slice(end),
      "not base64": html.slice(0, start) + "@@not base64@@" + html.slice(end),
    };
    await using browser = await launchBrowser();
    for (const [kind, text] of Object.entries(damaged)) {
      const path = join(dir.path, `${kind.replaceAll(" ", "_")}.html`);
      await Deno.writeTextFile(path, text);
      const page = await browser.newPage();
      await page.goto(path);
      const state = await page.waitForReady();
      assert.equal(state.ready, undefined, `${kind}: no data-ready`);
      assert.ok(state.error && state.error.length > 0, `${kind}: data-error is set`);
      const shown = await page.evaluate<{ hidden: boolean; text: string }>(
        `({ hidden: document.getElementById("error").hidden,
            text: document.getElementById("error").textContent })`,
      );
      assert.equal(shown.hidden, false, `${kind}: the error box is visible`);
      assert.ok(shown.text.includes(state.error), `${kind}: ${shown.text}`);
      assert.deepEqual([page.requests, page.dialogs, page.pageErrors], [[], [], []], kind);
      if (kind === "not gzip") await screenshot(page, "corrupt.png");
      await page.close();
    }
  },
});

/** Opens a report and waits for its first frame; fails on `data-error`. */
async function openReport(browser: Browser, path: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(path);
  const state = await page.waitForReady();
  assert.equal(state.error, undefined, `the report opened: ${state.error}`);
  assert.ok(state.ready! > 0, "data-ready counts the loaded events");
  return page;
}

async function readyCount(page: Page): Promise<number> {
  return Number(await page.evaluate("document.documentElement.dataset.ready"));
}

interface HookState {
  slices: number;
  processes: number;
  tracks: number;
  frames: number;
}

function hookState(page: Page): Promise<HookState> {
  return page.evaluate<HookState>("__tracer.state()");
}

/** Process labels of the summary's process filter, as the user reads them. */
async function processOptions(page: Page): Promise<string[]> {
  await waitUntil(
    () => page.evaluate<boolean>(`!!document.getElementById("summary-process")`),
    "the summary panel",
  );
  const options = await page.evaluate<string[]>(
    `[...document.querySelectorAll("#summary-process option")].map((o) => o.textContent)`,
  );
  return options.slice(1);
}

function text(page: Page, selector: string): Promise<string> {
  return page.evaluate<string>(`document.querySelector(${JSON.stringify(selector)}).textContent`);
}

/** Clicks the search box, replaces its text by typing, and returns the count line it shows. */
async function searchAsUser(page: Page, query: string): Promise<string> {
  await page.clickElement("#search");
  const length = await page.evaluate<number>(`document.getElementById("search").value.length`);
  await page.press("End");
  for (let i = 0; i < length; i++) await page.press("Backspace");
  await page.type(query);
  let count = "";
  await waitUntil(async () => {
    // One read of both: read apart, the search could run between them, and the count of the
    // previous search ("7 / 12") would pass for this one's.
    const shown = await page.evaluate<{ query?: string; count: string }>(
      `({ query: __tracer.state().search?.query,
          count: document.getElementById("search-count").textContent })`,
    );
    count = shown.count;
    return shown.query === query && count !== "";
  }, `search results for ${query}`);
  return count;
}

/**
 * Steps to the next match `count` times, by Enter in the search box or by the next-match button;
 * returns the details shown for each match.
 */
async function stepThroughMatches(
  page: Page,
  count: number,
  via: "enter" | "button" = "enter",
): Promise<Record<string, string>[]> {
  const seen: Record<string, string>[] = [];
  for (let i = 1; i <= count; i++) {
    if (via === "enter") await page.press("Enter");
    else await page.clickElement("#next-match");
    let shown = "";
    await waitUntil(async () => {
      shown = await text(page, "#search-count");
      return shown.startsWith(`${i} / `);
    }, `match ${i}`).catch(async (error) => {
      // What the page showed instead, for the next one to look at this (seen under load only).
      const state = await page.evaluate("JSON.stringify(__tracer.state().search)");
      throw new Error(
        `${error.message} of ${count} by ${via}: the count says "${shown}", ${state}`,
      );
    });
    seen.push(await detailsRows(page));
  }
  return seen;
}

/** The details panel as label -> value, read from the DOM. */
function detailsRows(page: Page): Promise<Record<string, string>> {
  return page.evaluate<Record<string, string>>(`Object.fromEntries(
    [...document.querySelectorAll("#panel-body table.details tr")]
      .map((row) => [row.querySelector("th")?.textContent, row.querySelector("td")?.textContent]))`);
}

/** The lines of a details row shown as repr text (`Arguments`, `Return value`), from the DOM. */
function valueLines(page: Page, label: string): Promise<string[]> {
  return page.evaluate<string[]>(`[...document.querySelectorAll("#panel-body table.details tr")]
    .filter((row) => row.querySelector("th")?.textContent === ${JSON.stringify(label)})
    .flatMap((row) => [...row.querySelectorAll(".value-line")].map((line) => line.textContent))`);
}

/** Leaves the search box, clears the selection and shows the whole trace, as a user would. */
async function pressEscapeAndReset(page: Page): Promise<void> {
  await page.press("Escape");
  await page.press("Escape");
  await page.clickElement("#reset");
}

/**
 * Hovers over the timeline until the tooltip names a slice starting with `name`, clicks there,
 * and returns the tooltip and the details panel.
 */
async function clickSliceNamed(
  page: Page,
  name: string,
): Promise<{ tooltip: string; tooltipThread: string; details: Record<string, string> }> {
  const box = await page.evaluate<{ x: number; y: number; width: number; height: number }>(
    `document.getElementById("timeline").getBoundingClientRect().toJSON()`,
  );
  for (const fraction of [0.5, 0.3, 0.7, 0.4, 0.6, 0.2, 0.8]) {
    const x = Math.round(box.x + box.width * fraction);
    for (let y = box.y + 4; y < box.y + box.height; y += 6) {
      await page.mouseMove(x, y);
      const tip = await page.evaluate<{ hidden: boolean; name: string; line: string }>(
        `(() => { const tip = document.getElementById("tooltip");
          return { hidden: tip.hidden, name: tip.querySelector("b")?.textContent ?? "",
                   line: tip.querySelector("span")?.textContent ?? "" }; })()`,
      );
      if (tip.hidden || !tip.name.startsWith(`${name} `)) continue;
      await page.click(x, y);
      await waitUntil(
        async () => (await detailsRows(page)).Function === name,
        `details of the clicked ${name}`,
      );
      const parts = tip.line.split(" · ");
      return {
        tooltip: `${tip.name} ${tip.line}`,
        tooltipThread: parts[parts.length - 1],
        details: await detailsRows(page),
      };
    }
  }
  throw new Error(`no slice named ${name} found under the mouse`);
}

/** No markup from the trace became elements, and the page stayed offline and quiet. */
async function assertInert(page: Page): Promise<void> {
  const dom = await page.evaluate<{ images: number; scripts: number }>(`({
    images: document.querySelectorAll("img").length,
    scripts: [...document.scripts].filter((s) => s.type !== "application/octet-stream").length,
  })`);
  assert.deepEqual(dom, { images: 0, scripts: 1 });
  assert.deepEqual(page.problems(), []);
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS) await page.screenshot(join(SCREENSHOTS, name));
}
