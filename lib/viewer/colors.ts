/**
 * Stable slice colours: a hue from a hash of the name, so a function keeps its colour everywhere.
 * Colours are packed pixels, since slices are drawn into a pixel buffer (raster.ts).
 * @module
 */
import { packRgb } from "./raster.ts";

/** A 32-bit FNV-1a hash of a string. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The fill colour of a slice name as a packed pixel; `dimmed` for slices not matching a search. */
export function namePixel(name: string, dimmed = false): number {
  const hash = hashString(name);
  const hue = hash % 360;
  if (dimmed) return hslPixel(hue, 0.12, 0.9);
  return hslPixel(hue, 0.58, (70 + (hash >>> 9) % 12) / 100);
}

/** An HSL colour (hue in degrees, saturation and lightness in [0, 1]) as a packed pixel. */
export function hslPixel(hue: number, saturation: number, lightness: number): number {
  const a = saturation * Math.min(lightness, 1 - lightness);
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12;
    return Math.round(255 * (lightness - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return packRgb(channel(0), channel(8), channel(4));
}
