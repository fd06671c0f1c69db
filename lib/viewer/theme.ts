/**
 * The viewer's colours and fonts on the canvas (the page's own are in template.html's style).
 * @module
 */
import { hexPixel } from "./raster.ts";

/** The slice label font. */
export const FONT = "12px system-ui, -apple-system, 'Segoe UI', sans-serif";
/** Titles: process headers, thread names, the minimap's title. */
export const BOLD_FONT = "600 12px system-ui, -apple-system, 'Segoe UI', sans-serif";

/** Outline of search matches. */
export const MATCH_COLOR = "#c2410c";
/** Packed pixels for the slice buffer. */
export const PIXELS = {
  /** Runs of slices narrower than a pixel. */
  dense: hexPixel("#aeb8c6"),
  /** A dense run holding a search match. */
  match: hexPixel(MATCH_COLOR),
  background: hexPixel("#ffffff"),
  /** The time grid behind the slices. */
  grid: hexPixel("#f0f2f5"),
} as const;

/** Canvas colours by what they paint. */
export const COLORS = {
  background: "#ffffff",
  text: "#111827",
  faint: "#9ca3af",
  mutedText: "#6b7280",
  secondaryText: "#374151",
  rule: "#d1d5db",
  threadRule: "#e5e7eb",
  gutter: "#f7f8fa",
  processBackground: "#e8ecf2",
  processRule: "#c9d1dc",
  processTitle: "#1f2937",
  processDetail: "#4b5563",
  alert: "#b91c1c",
  unfinished: "#dc2626",
  counterBackground: "#fafbfc",
  counterFill: "rgba(14, 116, 144, 0.35)",
  counterLine: "#0e7490",
  instant: "#7c3aed",
  /** An exception the program raised: its marker, and the line under the selected instant. */
  exception: "#e11d48",
  markerOutline: "#ffffff",
  selectedMarker: "#111827",
  // Arrows are opaque and 1 px wide: translucent or wider strokes across the tracks cost the
  // browser whole frames to raster while zooming.
  flow: "#4b5563",
  launchFlow: "#059669",
  taskFlow: "#2563eb",
  resultFlow: "#d97706",
  tree: "#94a3b8",
  focus: "#2563eb",
  footer: "#f3f4f6",
  range: "rgba(37, 99, 235, 0.10)",
  rangeEdge: "rgba(37, 99, 235, 0.7)",
  rangeLabel: "rgba(37, 99, 235, 0.9)",
  minimapBackground: "#f3f4f6",
  minimapBusy: "#60a5fa",
  minimapShade: "rgba(17, 24, 39, 0.12)",
  minimapView: "#1d4ed8",
} as const;
