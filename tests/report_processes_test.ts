/**
 * The report of a many-process run in headless Chromium (1600 x 1000): every process and thread
 * on the first screen, expanding and collapsing them (hook, keys, buttons), and the process tree
 * with its launch arrows against the pids the program itself saw. Set
 * TRACER_TEST_SCREENSHOTS=<dir> to keep screenshots.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES, noteSkipped, runCli, tempDir, waitUntil } from "./helpers.ts";
import { findChromium, launchBrowser, type Page } from "./browser.ts";
import { syntheticTrace } from "../bench/report.ts";
import { writeHtml } from "../lib/report/html.ts";

const SCREENSHOTS = Deno.env.get("TRACER_TEST_SCREENSHOTS");
const VIEWPORT = { width: 1600, height: 1000 };
const ignore = findChromium() === undefined;
if (ignore) {
  noteSkipped(
    "report_processes_test.ts",
    "Chromium not found (apt-get install chromium, or set TRACER_CHROMIUM)",
  );
}

/** A lane as `__tracer.tracks()` reports it. */
interface Lane {
  pid: number;
  tid: number | null;
  name: string;
  y: number;
  height: number;
  expanded: boolean;
}

/** An arrow as `__tracer.flows()` reports it. */
interface Flow {
  kind: string;
  name: string;
  from: { pid: number; tid: number; index: number };
  to: { pid: number; tid: number; index: number };
}

/** A launch as the traced program recorded it. */
interface Launch {
  child: number;
  parent: number;
  kind: string;
  /** The function the arrow starts at, when the fixture says (the resource tracker's). */
  launcher?: string;
}

Deno.test({
  name: "report of 15 processes: all on the first screen, expand and collapse, tree and arrows",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const report = join(dir.path, "many.html");
    const launchesFile = join(dir.path, "launches.jsonl");
    const run = await runCli([
      "--quiet",
      "-o",
      report,
      join(FIXTURES, "report", "many_processes.py"),
      launchesFile,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const launches: Launch[] = (await Deno.readTextFile(launchesFile)).trim().split("\n")
      .map((line) => JSON.parse(line));
    assert.equal(launches.length, 15); // every process but main, the resource tracker included

    await using browser = await launchBrowser({ viewport: VIEWPORT });
    const page = await browser.newPage();
    await page.goto(report);
    const ready = await page.waitForReady();
    assert.equal(ready.error, undefined, ready.error);
    const state = await page.evaluate<{ processes: number; tracks: number }>("__tracer.state()");
    assert.equal(
      state.processes,
      15,
      "main, 3 forks, 4 pool workers, 2 spawned + tracker, 4 Popen",
    );

    // The first frame: every process and every thread in the viewport, each tall enough to read.
    const first = await lanes(page);
    const processLanes = first.filter((lane) => lane.tid === null);
    const threadLanes = first.filter((lane) => lane.tid !== null);
    assert.equal(processLanes.length, state.processes);
    assert.equal(new Set(threadLanes.map((lane) => `${lane.pid}/${lane.tid}`)).size, state.tracks);
    assert.equal(threadLanes.length, state.tracks);
    for (const lane of first) {
      assert.ok(lane.y >= 0 && lane.y + lane.height <= VIEWPORT.height, JSON.stringify(lane));
      assert.ok(lane.height >= 12, `readable: ${JSON.stringify(lane)}`);
      assert.equal(lane.expanded, false);
    }
    assert.ok(processLanes.every((lane) => lane.name.length > 0));
    await screenshot(page, "processes_overview.png");

    // The tree: main first, every launch an arrow from its parent to its child.
    const main = processLanes[0].pid;
    assert.ok(launches.every((launch) => launch.kind === "exec" || launch.parent === main));
    const flows = await page.evaluate<Flow[]>("__tracer.flows()");
    const launchFlows = flows.filter((flow) => flow.kind === "launch");
    const described = launchFlows.map((flow) => `${flow.name} ${flow.from.pid} -> ${flow.to.pid}`)
      .sort();
    const expected = launches.map((launch) => `${launch.kind} ${launch.parent} -> ${launch.child}`)
      .sort();
    assert.deepEqual(described, expected);
    const order = processLanes.map((lane) => lane.pid);
    for (const launch of launches) {
      assert.ok(order.indexOf(launch.parent) <= order.indexOf(launch.child));
    }
    // 3 bare forks (the arrow starts at the os.fork call), then 4 pool workers and 2
    // spawned processes (Process.start), the resource tracker (multiprocessing's own
    // spawnv_passfds), 4 Popen (one of them execs).
    const forks = launches.filter((launch) => launch.kind === "fork").map((launch) => launch.child);
    const launcherOf = (launch: Launch) => {
      if (launch.launcher !== undefined) return launch.launcher;
      if (launch.kind === "subprocess") return "Popen.__init__";
      if (launch.kind === "fork" && forks.indexOf(launch.child) < 3) return "posix.fork";
      return launch.kind === "exec" ? undefined : "BaseProcess.start";
    };
    for (const launch of launches) {
      const flow = launchFlows.find((flow) =>
        flow.to.pid === launch.child && flow.name === launch.kind
      )!;
      const from = await detailsOf(page, flow.from);
      const to = await detailsOf(page, flow.to);
      assert.ok(to.Process.endsWith(`(pid ${launch.child})`), JSON.stringify(to));
      assert.ok(from.Process.endsWith(`(pid ${launch.parent})`), JSON.stringify(from));
      const launcher = launcherOf(launch);
      if (launcher) assert.equal(from.Function, launcher, JSON.stringify(from));
    }
    const exec = launchFlows.find((flow) => flow.name === "exec")!;
    assert.equal(exec.from.pid, exec.to.pid, "an exec successor stays in its lane");

    // Expanding one process makes its threads flame charts; collapsing gives the first frame back.
    await page.evaluate("__tracer.expandAll(false)");
    await page.evaluate(`__tracer.expand(${main})`);
    const expanded = await lanes(page);
    for (const lane of expanded.filter((lane) => lane.pid === main)) {
      assert.equal(lane.expanded, true, JSON.stringify(lane));
    }
    const mainThread = expanded.find((lane) => lane.pid === main && lane.tid === main)!;
    assert.ok(mainThread.height > 60, `a flame chart: ${mainThread.height}`);
    assert.ok(expanded.filter((lane) => lane.pid !== main).every((lane) => !lane.expanded));
    await screenshot(page, "processes_expanded.png");
    await page.evaluate(`__tracer.collapse(${main})`);
    assert.deepEqual(await lanes(page), first);

    // One thread alone; then every thread; then the button collapses them all.
    const worker = processLanes[5];
    await page.evaluate(`__tracer.expand(${worker.pid}, ${worker.pid})`);
    const one = (await lanes(page)).filter((lane) => lane.expanded);
    assert.deepEqual(one.map((lane) => [lane.pid, lane.tid]), [[worker.pid, null], [
      worker.pid,
      worker.pid,
    ]]);
    await page.evaluate("__tracer.expandAll(true)");
    assert.ok((await page.evaluate<Lane[]>("__tracer.tracks()")).every((lane) => lane.expanded));
    const button = await page.evaluate<{ x: number; y: number; width: number; height: number }>(
      `document.getElementById("collapse-all").getBoundingClientRect().toJSON()`,
    );
    await page.click(button.x + button.width / 2, button.y + button.height / 2);
    await waitUntil(
      async () => JSON.stringify(await lanes(page)) === JSON.stringify(first),
      "all collapsed",
    );

    // Keys: j moves to the next process, e expands it, e again collapses it.
    await page.click(VIEWPORT.width / 2, VIEWPORT.height - 430);
    await page.press("j");
    await page.press("e");
    const second = order[1];
    await waitUntil(async () => {
      const now = await lanes(page);
      return now.some((lane) => lane.pid === second && lane.tid === null && lane.expanded) &&
        now.every((lane) => lane.pid === second || !lane.expanded);
    }, "the second process expanded by keys");
    await page.press("e");
    await waitUntil(
      async () => JSON.stringify(await lanes(page)) === JSON.stringify(first),
      "collapsed by e",
    );
    assert.deepEqual(page.problems(), []);
  },
});

Deno.test({
  name: "report of 30 processes and 42 threads (the benchmark's program): all on the first screen",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const report = join(dir.path, "thirty.html");
    await writeHtml(syntheticTrace(20_000), report);
    await using browser = await launchBrowser({ viewport: VIEWPORT });
    const page = await browser.newPage();
    await page.goto(report);
    assert.equal((await page.waitForReady()).error, undefined);
    const first = await lanes(page);
    assert.equal(first.filter((lane) => lane.tid === null).length, 30);
    assert.equal(
      new Set(first.filter((l) => l.tid !== null).map((l) => `${l.pid}/${l.tid}`)).size,
      42,
    );
    for (const lane of first) {
      assert.ok(lane.y >= 0 && lane.y + lane.height <= VIEWPORT.height, JSON.stringify(lane));
      assert.ok(lane.height >= 12, `readable: ${JSON.stringify(lane)}`);
    }
    await screenshot(page, "processes_thirty.png");
    assert.deepEqual(page.problems(), []);
  },
});

function lanes(page: Page): Promise<Lane[]> {
  return page.evaluate<Lane[]>("__tracer.tracks()");
}

async function detailsOf(
  page: Page,
  end: { pid: number; tid: number; index: number },
): Promise<Record<string, string>> {
  const rows = await page.evaluate<[string, string][] | null>(
    `__tracer.select(${end.pid}, ${end.tid}, ${end.index})`,
  );
  assert.ok(rows, `slice ${JSON.stringify(end)} exists`);
  return Object.fromEntries(rows);
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS) await page.screenshot(join(SCREENSHOTS, name));
}
