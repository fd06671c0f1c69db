/**
 * The visible time window and its mapping to pixels, axis ticks and duration formatting. Times are
 * ticks (see lib/report_format.ts `tickNs`) from the trace origin. Pure: no DOM.
 * @module
 */

/** Maps the visible window [start, end] (ticks) onto [0, width] pixels. */
export class TimeScale {
  /** Creates a scale showing [start, end] over `width` pixels of a trace `total` ticks long. */
  constructor(
    public start: number,
    public end: number,
    public width: number,
    readonly total: number,
  ) {
    this.set(start, end);
  }

  /** Ticks per pixel. */
  get perPixel(): number {
    return (this.end - this.start) / Math.max(1, this.width);
  }

  /** Pixel of a time. */
  toPx(t: number): number {
    return (t - this.start) / (this.end - this.start) * this.width;
  }

  /** Time at a pixel. */
  toTime(px: number): number {
    return this.start + px / this.width * (this.end - this.start);
  }

  /** Shows [start, end], kept within the trace (with a 5% margin) and at least 10 ticks wide. */
  set(start: number, end: number): void {
    const margin = Math.max(this.total * 0.05, 10);
    let span = Math.min(Math.max(end - start, 10), this.total + 2 * margin);
    if (!(span > 0)) span = 10;
    let s = Math.max(-margin, Math.min(start, this.total + margin - span));
    if (!Number.isFinite(s)) s = 0;
    this.start = s;
    this.end = s + span;
  }

  /** Zooms by `factor` (< 1 zooms in) keeping the time under pixel `px` in place. */
  zoomAt(px: number, factor: number): void {
    const t = this.toTime(px);
    const span = (this.end - this.start) * factor;
    const start = t - px / this.width * span;
    this.set(start, start + span);
  }

  /** Moves the window by `dx` pixels (positive: later). */
  pan(dx: number): void {
    const dt = dx * this.perPixel;
    this.set(this.start + dt, this.end + dt);
  }

  /** Shows the whole trace. */
  reset(): void {
    this.set(0, this.total);
  }
}

/** One labelled axis tick. */
export interface AxisTick {
  t: number;
  label: string;
}

/** Ticks at a 1/2/5 x 10^k ns step, at least `minGapPx` apart, labelled in the step's unit. */
export function axisTicks(scale: TimeScale, tickNs: number, minGapPx = 90): AxisTick[] {
  const minStepNs = scale.perPixel * minGapPx * tickNs;
  let step = 1;
  while (step < minStepNs) {
    const digits = String(step)[0];
    step *= digits === "2" ? 2.5 : 2;
  }
  const stepTicks = step / tickNs;
  const ticks: AxisTick[] = [];
  const first = Math.ceil(scale.start / stepTicks);
  for (let i = first; i * stepTicks <= scale.end; i++) {
    const t = i * stepTicks;
    ticks.push({ t, label: formatTime(t * tickNs, step) });
  }
  return ticks;
}

const UNITS: [number, string][] = [[1e9, "s"], [1e6, "ms"], [1e3, "µs"], [1, "ns"]];

/** A position on the axis in the largest unit that still shows the step exactly ("1.25 ms"). */
export function formatTime(ns: number, stepNs: number): string {
  const stepUnit = UNITS.findIndex(([size]) => stepNs >= size);
  for (let u = 0; u < UNITS.length; u++) {
    const [size, unit] = UNITS[u];
    if ((Math.abs(ns) < size && u < stepUnit) || (ns === 0 && u < stepUnit)) continue;
    const decimals = decimalsOf(stepNs / size);
    if (decimals <= 3) return `${(ns / size).toFixed(decimals)} ${unit}`;
  }
  return `${Math.round(ns)} ns`;
}

function decimalsOf(value: number): number {
  let decimals = 0;
  while (
    decimals < 6 && Math.abs(Math.round(value * 10 ** decimals) - value * 10 ** decimals) > 1e-6
  ) {
    decimals++;
  }
  return decimals;
}

/** A duration in nanoseconds with three significant digits and a fitting unit ("1.23 ms"). */
export function formatDuration(ns: number): string {
  const abs = Math.abs(ns);
  const [scale, unit] = UNITS.find(([size]) => abs >= size) ?? UNITS[3];
  const value = ns / scale;
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(unit === "ns" ? 0 : digits)} ${unit}`;
}
