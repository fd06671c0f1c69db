/**
 * The viewer's fixed sizes, in CSS pixels, and the coordinate spaces every module uses; the one
 * place they are written down.
 *
 * - Canvas space: CSS pixels from the canvas's top-left corner; what input events give
 *   (`offsetX`, `offsetY`). The strips from the top: the minimap (`MINIMAP_HEIGHT`), the time axis
 *   (`AXIS_HEIGHT`), then the tracks from `TRACKS_TOP` down; the label column is `GUTTER` wide on
 *   the left.
 * - Plot x: canvas x minus `GUTTER`, from 0 to `TimeScale.width`; `TimeScale.toTime` and `toPx`
 *   convert it to and from time.
 * - Time: ticks from the trace start (`Model.header.tickNs` nanoseconds each); every slice start,
 *   duration, range and view bound is in ticks. The test hook alone speaks microseconds.
 * - Content y: CSS pixels from the top of the first row (`Layout` row `y`, `levelY`); canvas
 *   y = content y + `TRACKS_TOP` - `ViewState.scrollY`.
 * - Device pixels: CSS pixels times `ViewState.pixelRatio`; the slice pixel buffer (raster.ts)
 *   covers the plot area below `TRACKS_TOP` in device pixels.
 * @module
 */

/** Width of the label column on the left. */
export const GUTTER = 270;
/** Height of the minimap strip at the top. */
export const MINIMAP_HEIGHT = 40;
/** Height of the time axis under the minimap. */
export const AXIS_HEIGHT = 22;
/** Where the track area starts. */
export const TRACKS_TOP = MINIMAP_HEIGHT + AXIS_HEIGHT;
/** Height of one call-depth level. */
export const LEVEL_HEIGHT = 18;
/** Height of a process header row (a process with an expanded thread). */
export const PROCESS_HEIGHT = 24;
/** Height of a compact process lane: its name beside its first thread's activity strip. */
export const LANE_HEIGHT = 16;
/** Height of a thread's activity strip (a thread not expanded). */
export const STRIP_HEIGHT = 12;
/** Height of one depth level inside an activity strip. */
export const STRIP_LEVEL_HEIGHT = 4;
/** Depth levels an expanded thread shows until its depth is expanded too. */
export const MAX_LEVELS = 10;
/** Height of the footer under a bounded flame chart (it expands the depth). */
export const FOOTER_HEIGHT = 14;
/** Height of a counter row. */
export const COUNTER_HEIGHT = 34;
/** Slices narrower than this get no label. */
export const MIN_LABEL_WIDTH = 28;
