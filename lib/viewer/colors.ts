/**
 * Stable slice colours: a hue from a hash of the name, so a function keeps its colour everywhere.
 * @module
 */

/** A 32-bit FNV-1a hash of a string. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The fill colour of a slice name; `dimmed` for slices that do not match the search. */
export function nameColor(name: string, dimmed = false): string {
  const hash = hashString(name);
  const hue = hash % 360;
  if (dimmed) return `hsl(${hue} 12% 90%)`;
  const lightness = 70 + (hash >>> 9) % 12;
  return `hsl(${hue} 58% ${lightness}%)`;
}
