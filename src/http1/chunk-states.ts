/**
 * States of the chunked body walker, and the byte steps of its two rarely used sub-languages
 * (chunk extensions, trailer fields). Kept apart so the walker's hot loop stays small.
 */
import { COLON, CR, DQUOTE, BACKSLASH, EQUALS, FIELD_VALUE, HTAB, QDTEXT, SEMI, SP, TOKEN } from './chars.js';
import { E } from './errors.js';

// Size line: digits, then optional extensions, then CRLF.
export const S_SIZE_START = 0;
export const S_SIZE = 1;
export const S_EXT_NAME_START = 2;
export const S_EXT_NAME = 3;
export const S_EXT_VALUE_START = 4;
export const S_EXT_VALUE = 5;
export const S_EXT_QUOTED = 6;
export const S_EXT_ESCAPE = 7;
export const S_EXT_QUOTED_END = 8;
export const S_SIZE_LF = 9;
// Data and the CRLF after it.
export const S_DATA = 10;
export const S_DATA_CR = 11;
export const S_DATA_LF = 12;
// Trailer section after the last chunk.
export const S_TRAILER_LINE = 13;
export const S_TRAILER_NAME = 14;
export const S_TRAILER_OWS = 15;
export const S_TRAILER_VALUE = 16;
export const S_TRAILER_LF = 17;
export const S_END_LF = 18;
export const S_DONE = 19;
export const S_ERROR = 20;

/** What may follow a complete extension name or value: another extension or the line end. */
function afterExtension(c: number): number {
  if (c === SEMI) return S_EXT_NAME_START;
  return c === CR ? S_SIZE_LF : -E.BAD_CHUNK_EXTENSION;
}

/**
 * One byte of chunk-ext = *( ";" token [ "=" ( token / quoted-string ) ] ). No whitespace at
 * all: RFC 9112 tolerates BWS around ";" and "=", llhttp refuses it, and so do we, since
 * parsers disagreeing on such lines is how chunk smuggling works.
 */
export function extensionStep(st: number, c: number): number {
  switch (st) {
    case S_EXT_NAME_START: return TOKEN[c] === 1 ? S_EXT_NAME : -E.BAD_CHUNK_EXTENSION;
    case S_EXT_NAME:
      if (TOKEN[c] === 1) return S_EXT_NAME;
      return c === EQUALS ? S_EXT_VALUE_START : afterExtension(c);
    case S_EXT_VALUE_START:
      if (TOKEN[c] === 1) return S_EXT_VALUE;
      return c === DQUOTE ? S_EXT_QUOTED : -E.BAD_CHUNK_EXTENSION;
    case S_EXT_VALUE: return TOKEN[c] === 1 ? S_EXT_VALUE : afterExtension(c);
    case S_EXT_QUOTED:
      if (c === DQUOTE) return S_EXT_QUOTED_END;
      if (c === BACKSLASH) return S_EXT_ESCAPE;
      return QDTEXT[c] === 1 ? S_EXT_QUOTED : -E.BAD_CHUNK_EXTENSION;
    case S_EXT_ESCAPE: return FIELD_VALUE[c] === 1 ? S_EXT_QUOTED : -E.BAD_CHUNK_EXTENSION;
    default: return afterExtension(c); // S_EXT_QUOTED_END
  }
}

/** One byte of the trailer section (field lines as in a head, no obs-fold, then CRLF). */
export function trailerStep(st: number, c: number): number {
  switch (st) {
    case S_TRAILER_LINE:
      if (c === CR) return S_END_LF;
      return TOKEN[c] === 1 ? S_TRAILER_NAME : -E.BAD_TRAILER;
    case S_TRAILER_NAME:
      if (TOKEN[c] === 1) return S_TRAILER_NAME;
      return c === COLON ? S_TRAILER_OWS : -E.BAD_TRAILER;
    case S_TRAILER_OWS:
      if (c === SP || c === HTAB) return S_TRAILER_OWS;
      if (c === CR) return S_TRAILER_LF;
      return FIELD_VALUE[c] === 1 ? S_TRAILER_VALUE : -E.BAD_TRAILER;
    case S_TRAILER_VALUE:
      if (c === CR) return S_TRAILER_LF;
      return FIELD_VALUE[c] === 1 ? S_TRAILER_VALUE : -E.BAD_TRAILER;
    case S_TRAILER_LF: return c === 0x0a ? S_TRAILER_LINE : -E.BAD_TRAILER;
    default: return c === 0x0a ? S_DONE : -E.BAD_TRAILER; // S_END_LF
  }
}
