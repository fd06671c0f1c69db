/**
 * Task arrows in the report (headless Chromium): for a fork Pool, a spawn Pool, the default Pool of
 * the newest CPython (forkserver since 3.14) and a ProcessPoolExecutor (forkserver), one task arrow per task from the submitting call to the worker
 * call that ran it, and one result arrow from that worker call to the parent call that received
 * the result. Set TRACER_TEST_SCREENSHOTS=<dir> to keep screenshots.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES, noteSkipped, pythonMatrix, runCli, tempDir } from "./helpers.ts";
import { type Browser, findChromium, launchBrowser, type Page } from "./browser.ts";

const SCREENSHOTS = Deno.env.get("TRACER_TEST_SCREENSHOTS");
const ignore = findChromium() === undefined;
if (ignore) {
  noteSkipped(
    "report_tasks_test.ts",
    "Chromium not found (apt-get install chromium, or set TRACER_CHROMIUM)",
  );
}

interface End {
  pid: number;
  tid: number;
  index: number;
}

interface Flow {
  kind: string;
  from: End;
  to: End;
}

/** What each arrow end is, read from the details the report shows for it. */
interface Joined {
  submit: string;
  worker: string;
  received: string;
}

/** The newest CPython of the matrix here (3.15 where provisioned). */
const NEWEST = [...pythonMatrix().values()].pop();

const CASES: { name: string; args: string[]; python?: string; joined: string[][] }[] = [
  {
    name: "fork Pool",
    args: ["pool", "fork"],
    // apply_async, map (4 tasks of chunksize 1; mapstar runs each), imap (3)
    joined: [
      ...Array(1).fill(["Pool.apply_async", "square", "ApplyResult._set"]),
      ...Array(4).fill(["Pool._map_async", "mapstar", "MapResult._set"]),
      ...Array(3).fill(["Pool.imap", "square", "IMapIterator._set"]),
    ],
  },
  {
    name: "spawn Pool",
    args: ["pool", "spawn"],
    joined: [
      ...Array(1).fill(["Pool.apply_async", "square", "ApplyResult._set"]),
      ...Array(4).fill(["Pool._map_async", "mapstar", "MapResult._set"]),
      ...Array(3).fill(["Pool.imap", "square", "IMapIterator._set"]),
    ],
  },
  {
    // 3.14 made forkserver the default start method on Linux: the default Pool uses it.
    name: "default Pool on the newest CPython",
    args: ["pool", "default"],
    python: NEWEST,
    joined: [
      ...Array(1).fill(["Pool.apply_async", "square", "ApplyResult._set"]),
      ...Array(4).fill(["Pool._map_async", "mapstar", "MapResult._set"]),
      ...Array(3).fill(["Pool.imap", "square", "IMapIterator._set"]),
    ],
  },
  {
    name: "ProcessPoolExecutor",
    args: ["executor", "forkserver"],
    // submit, then map's 3 items (one submit each, run by _process_chunk)
    joined: [
      ["ProcessPoolExecutor.submit", "square", "_ExecutorManagerThread.process_result_item"],
      ...Array(3).fill([
        "ProcessPoolExecutor.submit",
        "_process_chunk",
        "_ExecutorManagerThread.process_result_item",
      ]),
    ],
  },
];

for (const testCase of CASES) {
  Deno.test({
    name: `task arrows of a ${testCase.name}: submit -> worker -> result, one per task`,
    ignore,
    async fn() {
      await using dir = await tempDir();
      const report = join(dir.path, "pools.html");
      const run = await runCli([
        "--quiet",
        ...(testCase.python ? ["--python", testCase.python] : []),
        "-o",
        report,
        join(FIXTURES, "report", "pools.py"),
        ...testCase.args,
      ]);
      assert.equal(run.code, 0, run.stderr);
      const tasks = Number(run.stdout.trim());
      assert.equal(tasks, testCase.joined.length);
      await using browser = await launchBrowser({ viewport: { width: 1600, height: 1000 } });
      const joined = await joinArrows(browser, report, testCase.name);
      assert.deepEqual(
        joined.map((row) => [row.submit, row.worker, row.received].join(" / ")).sort(),
        testCase.joined.map((row) => row.join(" / ")).sort(),
      );
    },
  });
}

/**
 * Opens the report and follows every task arrow to the result arrow leaving the same worker slice;
 * checks the processes each end is in, and returns the function at each end.
 */
async function joinArrows(browser: Browser, report: string, name: string): Promise<Joined[]> {
  const page = await browser.newPage();
  await page.goto(report);
  const ready = await page.waitForReady();
  assert.equal(ready.error, undefined, ready.error);
  const flows = await page.evaluate<Flow[]>("__tracer.flows()");
  const launched = new Set(flows.filter((f) => f.kind === "launch").map((f) => f.to.pid));
  const main = await page.evaluate<number>("__tracer.tracks()[0].pid");
  const taskArrows = flows.filter((flow) => flow.kind === "task");
  const resultArrows = flows.filter((flow) => flow.kind === "result");
  assert.equal(resultArrows.length, taskArrows.length, "one result arrow per task arrow");
  const key = (end: End) => `${end.pid}/${end.tid}/${end.index}`;
  const functionAt = async (end: End) => {
    const rows = await page.evaluate<[string, string][] | null>(
      `__tracer.select(${end.pid}, ${end.tid}, ${end.index})`,
    );
    assert.ok(rows, `a slice at ${key(end)}`);
    return Object.fromEntries(rows).Function;
  };
  const joined: Joined[] = [];
  for (const task of taskArrows) {
    assert.equal(task.from.pid, main, "the main process submits");
    assert.ok(launched.has(task.to.pid), `a worker it launched runs the task: ${task.to.pid}`);
    const results = resultArrows.filter((result) => key(result.from) === key(task.to));
    assert.equal(results.length, 1, `the result leaves the worker call ${key(task.to)}`);
    assert.equal(results[0].to.pid, main, "the main process receives the result");
    joined.push({
      submit: await functionAt(task.from),
      worker: await functionAt(task.to),
      received: await functionAt(results[0].to),
    });
  }
  if (name === "fork Pool") await checkFlameGraph(page, main);
  if (SCREENSHOTS) {
    await page.evaluate("__tracer.expandAll(false)");
    await page.screenshot(join(SCREENSHOTS, `tasks_${name.replaceAll(" ", "_")}.png`));
  }
  assert.deepEqual(page.problems(), []);
  await page.close();
  return joined;
}

interface FlameNode {
  name: string;
  total: number;
  calls: number;
  children: FlameNode[];
}

/** Calls of `name` merged into the flame graph, anywhere in it. */
function callsOf(nodes: FlameNode[], name: string): number {
  let calls = 0;
  for (const node of nodes) {
    if (node.name.startsWith(`${name} `)) calls += node.calls;
    calls += callsOf(node.children, name);
  }
  return calls;
}

/**
 * The flame graph tab: the 8 square() calls merged (all in workers, none in the main process),
 * the main thread's graph rooted at its module, a range clipping it; the canvas is drawn.
 */
async function checkFlameGraph(page: Page, main: number): Promise<void> {
  assert.equal(callsOf(await page.evaluate<FlameNode[]>("__tracer.flameGraph()"), "square"), 8);
  const ofMain = await page.evaluate<FlameNode[]>(`__tracer.flameGraph(${main})`);
  assert.equal(callsOf(ofMain, "square"), 0);
  const thread = await page.evaluate<FlameNode[]>(`__tracer.flameGraph(${main}, ${main})`);
  assert.ok(thread[0].name.startsWith("<module> "), thread[0].name);
  const whole = thread[0].total;
  await page.evaluate(`__tracer.rangeStats(0, ${whole / 4})`);
  const ranged = await page.evaluate<FlameNode[]>(`__tracer.flameGraph(${main}, ${main})`);
  assert.ok(ranged[0].total <= whole / 4 + 1e-6 && ranged[0].total < whole, `${ranged[0].total}`);
  const tab = await page.evaluate<{ x: number; y: number; width: number; height: number }>(
    `document.getElementById("tab-flame").getBoundingClientRect().toJSON()`,
  );
  await page.click(tab.x + tab.width / 2, tab.y + tab.height / 2);
  const canvas = await page.evaluate<{ width: number; height: number } | null>(
    `document.getElementById("flame-canvas")?.getBoundingClientRect().toJSON() ?? null`,
  );
  assert.ok(canvas && canvas.width > 100 && canvas.height >= 17, JSON.stringify(canvas));
}
