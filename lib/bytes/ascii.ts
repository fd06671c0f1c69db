/**
 * The ASCII codes the JSON writers write and compare bytes with. (The JSON scanner's per-byte
 * loops keep their own local copies: see lib/combine/_json_scanner.ts.)
 * @module
 */

/** `{` */
export const OPEN_BRACE = 0x7b;
/** `,` */
export const COMMA = 0x2c;
/** `\n` */
export const NEWLINE = 0x0a;
