/**
 * The side panel: four tabs (details of the selected slice, statistics of the selected range, the
 * flame graph of the range or the whole trace, the whole trace's summary) filled from the view
 * controller's state.
 * @module
 */
import { instantDetails, sliceDetails, splitName } from "./details.ts";
import { showFlameGraph } from "./flame_panel.ts";
import { instantName } from "./instants.ts";
import type { Model, Track } from "./model.ts";
import { rangeStats } from "./stats.ts";
import { formatDuration } from "./time_scale.ts";
import { byId, el, showDetails, showStats } from "./ui.ts";
import type { ViewController } from "./view_controller.ts";

/** A panel tab. */
export type Tab = "details" | "range" | "flame" | "summary";
const TABS: readonly Tab[] = ["details", "range", "flame", "summary"];

/** The panel of `#panel-body` and its `#tab-*` buttons. */
export class Panel {
  readonly #model: Model;
  readonly #view: ViewController;

  /** Wires the tab buttons. */
  constructor(view: ViewController) {
    this.#model = view.model;
    this.#view = view;
    for (const tab of TABS) byId(`tab-${tab}`).addEventListener("click", () => this.showTab(tab));
  }

  /** Shows the details of slice `k` of `track`; returns them as rows. */
  showSlice(track: Track, k: number): [string, string][] {
    const rows = sliceDetails(this.#model, track, k);
    showDetails(byId("panel-body"), rows, splitName(this.#model.strings[track.name[k]]).func);
    this.#markTab("details");
    return rows;
  }

  /** Shows the details of instant `i` (an index into `header.instants`); returns them as rows. */
  showInstant(i: number): [string, string][] {
    const rows = instantDetails(this.#model, i);
    const type = rows.find(([label]) => label === "Type");
    showDetails(byId("panel-body"), rows, type ? type[1] : instantName(this.#model, i));
    this.#markTab("details");
    return rows;
  }

  /** Shows the statistics of the selected range, if there is one. */
  showRange(): void {
    const range = this.#view.state.range;
    if (!range) return;
    const tickNs = this.#model.header.tickNs;
    showStats(byId("panel-body"), {
      title: `Range ${formatDuration(range.t0 * tickNs)} – ${formatDuration(range.t1 * tickNs)} (${
        formatDuration((range.t1 - range.t0) * tickNs)
      })`,
      rows: rangeStats(this.#model, range),
      tickNs,
    });
    this.#markTab("range");
  }

  /**
   * Shows the top functions of the whole trace, with a process filter; without `compute`, a button
   * that computes them (whole-trace statistics of millions of slices block the page for seconds).
   */
  showSummary(compute = true): void {
    const body = byId("panel-body");
    if (!compute) {
      const button = el(
        "button",
        `Compute the summary of ${this.#model.slices.toLocaleString("en-US")} slices`,
      );
      button.id = "compute-summary";
      button.addEventListener("click", () => this.showSummary());
      body.replaceChildren(el("h2", "Top functions by self time"), button);
      this.#markTab("summary");
      return;
    }
    const select = this.#processFilter();
    const content = el("div");
    const render = () => {
      const pid = select.selectedIndex > 0 ? select.value : undefined;
      showStats(content, {
        title: "Top functions by self time, whole trace",
        rows: rangeStats(this.#model, { t0: -Infinity, t1: Infinity }, {
          filter: pid === undefined ? undefined : (track) => String(track.info.pid) === pid,
        }),
        tickNs: this.#model.header.tickNs,
      });
    };
    select.addEventListener("change", render);
    body.replaceChildren(select, content);
    render();
    this.#markTab("summary");
  }

  /** Switches to `tab` and fills it from the current state. */
  showTab(tab: Tab): void {
    this.#markTab(tab);
    const { range, selected, selectedInstant } = this.#view.state;
    if (tab === "summary") this.showSummary();
    else if (tab === "flame") showFlameGraph(byId("panel-body"), this.#model, range);
    else if (tab === "range") {
      if (range) this.showRange();
      else showDetails(byId("panel-body"), [], "Shift+drag on the timeline to select a range");
    } else if (selected) {
      this.showSlice(this.#model.tracks[selected.track], selected.slice);
    } else if (selectedInstant !== undefined) this.showInstant(selectedInstant);
    else showDetails(byId("panel-body"), [], "Click a slice to see its details");
  }

  #processFilter(): HTMLSelectElement {
    const select = el("select");
    select.id = "summary-process";
    select.append(el("option", "All processes"));
    for (const process of this.#model.processes) {
      const option = el("option", `${process.info.name || "process"} (pid ${process.info.pid})`);
      option.value = String(process.info.pid);
      select.append(option);
    }
    return select;
  }

  #markTab(tab: Tab): void {
    for (const name of TABS) byId(`tab-${name}`).classList.toggle("active", name === tab);
  }
}
