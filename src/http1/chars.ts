/**
 * Byte classification tables. Parsers index them with the raw byte, which is cheaper than
 * comparisons or regular expressions and keeps every check a single load.
 */

export const HTAB = 0x09;
export const LF = 0x0a;
export const CR = 0x0d;
export const SP = 0x20;
export const DQUOTE = 0x22;
export const COMMA = 0x2c;
export const SLASH = 0x2f;
export const COLON = 0x3a;
export const SEMI = 0x3b;
export const EQUALS = 0x3d;
export const BACKSLASH = 0x5c;

function table(accept: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = accept(c) ? 1 : 0;
  return t;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** RFC 9110 tchar: method, header names, transfer codings, chunk extension names. */
export const TOKEN = table((c) => isAlnum(c) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)));

/** Field value bytes: HTAB, SP, VCHAR, obs-text. Excludes CR, LF, NUL, other controls and DEL. */
export const FIELD_VALUE = table((c) => c === HTAB || (c >= SP && c !== 0x7f));

/**
 * Request-target bytes: VCHAR only. llhttp rejects obs-text in the target and so do we, so a
 * request the backend's own parser would refuse never reaches it.
 */
export const TARGET = table((c) => c > SP && c < 0x7f);

/** Host header / authority bytes (Go's httpguts.ValidHostHeader set: unreserved, sub-delims, %, :, []). */
export const HOST = table((c) => isAlnum(c) || "!$%&'()*+,-.:;=[]_~".includes(String.fromCharCode(c)));

/** qdtext of a quoted-string (chunk extension values): HTAB, SP, VCHAR except DQUOTE and backslash, obs-text. */
export const QDTEXT = table((c) => c === HTAB || (c >= SP && c !== DQUOTE && c !== BACKSLASH && c !== 0x7f));

/** ASCII lower-casing of any byte (other bytes map to themselves). */
export const LOWER: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  return t;
})();

/** Hex digit values, -1 for anything else. */
export const HEX: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let c = 0; c < 10; c++) t[0x30 + c] = c;
  for (let c = 0; c < 6; c++) {
    t[0x41 + c] = 10 + c;
    t[0x61 + c] = 10 + c;
  }
  return t;
})();

/**
 * Case-insensitive compare of buf[start, start + lower.length) with a lower-case ASCII literal.
 * Setting bit 0x20 lower-cases letters. Callers only pass validated token or field-value bytes,
 * and among those no other byte aliases a letter, digit or '-' this way (the aliases would be
 * control characters 0x0d and 0x10-0x19, which both tables reject).
 */
export function equalsLower(buf: Uint8Array, start: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    if ((buf[start + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}
