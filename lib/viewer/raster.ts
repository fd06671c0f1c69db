/**
 * A device-pixel buffer for the plot area (right of the gutter, below the axis). Slices are
 * written as spans into the first scanline of their level, which is then copied down the level's
 * rows: a frame costs a few typed-array writes per slice and one `putImageData`, instead of
 * thousands of canvas fills, each a colour parse and a rasterised rectangle. Pure: no DOM.
 * @module
 */

/** An opaque colour as one pixel of a little-endian RGBA buffer (0xAABBGGRR). */
export function packRgb(r: number, g: number, b: number): number {
  return (0xff000000 | (b << 16) | (g << 8) | r) >>> 0;
}

/** A `#rrggbb` colour as a packed pixel. */
export function hexPixel(hex: string): number {
  const value = parseInt(hex.slice(1), 16);
  return packRgb(value >> 16, (value >> 8) & 0xff, value & 0xff);
}

/** A packed pixel as a CSS colour (`rgb(r g b)`), for canvas fills outside the buffer. */
export function unpackCss(pixel: number): string {
  return `rgb(${pixel & 0xff} ${(pixel >>> 8) & 0xff} ${(pixel >>> 16) & 0xff})`;
}

/** An RGBA pixel buffer reused across frames; reallocated only when its size changes. */
export class PlotRaster {
  width = 0;
  height = 0;
  /** The RGBA bytes (what an ImageData wraps). */
  bytes: Uint8ClampedArray<ArrayBuffer> = new Uint8ClampedArray(0);
  /** The same memory, one element per pixel. */
  pixels: Uint32Array = new Uint32Array(0);

  /** Sizes the buffer to `width` x `height` pixels and fills it with `background`. */
  reset(width: number, height: number, background: number): void {
    width = Math.max(0, Math.floor(width));
    height = Math.max(0, Math.floor(height));
    if (width !== this.width || height !== this.height) {
      this.width = width;
      this.height = height;
      this.bytes = new Uint8ClampedArray(width * height * 4);
      this.pixels = new Uint32Array(this.bytes.buffer);
    }
    this.pixels.fill(background);
  }

  /** Sets column `x` of every row to `color`. */
  column(x: number, color: number): void {
    if (x < 0 || x >= this.width) return;
    const { pixels, width } = this;
    for (let i = x; i < pixels.length; i += width) pixels[i] = color;
  }

  /** Fills pixels [x0, x1) of row `y` (clipped to the buffer). */
  span(y: number, x0: number, x1: number, color: number): void {
    if (y < 0 || y >= this.height) return;
    const from = Math.max(0, x0);
    const to = Math.min(this.width, x1);
    if (to > from) this.pixels.fill(color, y * this.width + from, y * this.width + to);
  }

  /** Copies row `y` onto rows (y, y1) (clipped to the buffer). */
  copyDown(y: number, y1: number): void {
    const { pixels, width } = this;
    const end = Math.min(this.height, y1);
    const source = y * width;
    for (let row = y + 1; row < end; row++) {
      pixels.copyWithin(row * width, source, source + width);
    }
  }
}
