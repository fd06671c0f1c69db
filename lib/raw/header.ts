/**
 * Reading one member of a raw file's header record (its JSON text: the process's `otherData`).
 * @module
 */

/** The value of `key` in a header's JSON text; undefined when absent or the text is not JSON. */
export function headerValue(headerText: string, key: string): unknown {
  try {
    const header = JSON.parse(headerText);
    return typeof header === "object" && header !== null ? header[key] : undefined;
  } catch {
    return undefined;
  }
}
