/**
 * Meaning of the header values that decide framing and connection handling. Each works on
 * offsets of an already validated, OWS-trimmed value and allocates nothing.
 */
import { COMMA, CR, HOST, HTAB, SEMI, SP, TOKEN, equalsLower } from './chars.js';
import { E } from './errors.js';
import { HeaderKind } from './header-kinds.js';
import type { MessageHead } from './message-head.js';

/** 16 digits hold every safe integer; more would also let "0000…5" run without bound. */
const MAX_CL_DIGITS = 16;

/** Content-Length = 1*DIGIT (no sign, no list, no spaces), at most 2^53 - 1. Returns -1 when invalid. */
export function parseContentLength(buf: Uint8Array, start: number, end: number): number {
  if (start === end || end - start > MAX_CL_DIGITS) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n > Number.MAX_SAFE_INTEGER ? -1 : n;
}

/** End of the list element starting at i: the next comma, or end. */
function elementEnd(buf: Uint8Array, i: number, end: number): number {
  while (i < end && buf[i] !== COMMA) i++;
  return i;
}

function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

/** Codings a proxy may relay; anything else on a request is answered with 501. */
function isKnownCoding(buf: Uint8Array, s: number, len: number): boolean {
  switch (len) {
    case 4: return equalsLower(buf, s, 'gzip');
    case 6: return equalsLower(buf, s, 'x-gzip');
    case 7: return equalsLower(buf, s, 'deflate');
    case 8: return equalsLower(buf, s, 'compress');
    case 10: return equalsLower(buf, s, 'x-compress');
    default: return false;
  }
}

/**
 * Transfer-Encoding: a list of bare codings. Empty elements and parameters are refused: they
 * are never sent by real clients and are classic smuggling material. Lines accumulate, so
 * "TE: gzip" then "TE: chunked" ends with chunked last.
 */
export function scanTransferEncoding(head: MessageHead, buf: Uint8Array, start: number, end: number): number {
  head.hasTransferEncoding = true;
  let i = start;
  for (;;) {
    const stop = elementEnd(buf, i, end);
    while (i < stop && isOws(buf[i]!)) i++;
    let j = i;
    while (j < stop && TOKEN[buf[j]!] === 1) j++;
    let k = j;
    while (k < stop && isOws(buf[k]!)) k++;
    if (j === i || k !== stop) return E.BAD_TRANSFER_ENCODING;
    if (j - i === 7 && equalsLower(buf, i, 'chunked')) {
      head.chunkedCount++;
      head.chunkedLast = true;
    } else {
      head.chunkedLast = false;
      if (!isKnownCoding(buf, i, j - i)) head.unknownTransferCoding = true;
    }
    if (stop === end) return 0;
    i = stop + 1;
  }
}

/** Connection: close / keep-alive / upgrade flags; every other token is a hop-by-hop name. */
export function scanConnection(head: MessageHead, buf: Uint8Array, start: number, end: number): void {
  let i = start;
  for (;;) {
    const stop = elementEnd(buf, i, end);
    let j = stop;
    while (i < j && isOws(buf[i]!)) i++;
    while (j > i && isOws(buf[j - 1]!)) j--;
    const len = j - i;
    if (len === 5 && equalsLower(buf, i, 'close')) head.connectionClose = true;
    else if (len === 10 && equalsLower(buf, i, 'keep-alive')) head.connectionKeepAlive = true;
    else if (len === 7 && equalsLower(buf, i, 'upgrade')) head.connectionUpgrade = true;
    else if (len > 0) head.addConnectionName(i, j);
    if (stop === end) return;
    i = stop + 1;
  }
}

/**
 * Whether the trailing OWS after a value (the bytes from ve to the CR) holds a tab. llhttp
 * does not count a trailing HTAB as whitespace in Content-Length and Transfer-Encoding
 * ("chunked\t" is not chunked to it), so such framing is refused rather than read differently.
 */
function tabAfter(buf: Uint8Array, ve: number): boolean {
  for (let k = ve; buf[k] !== CR; k++) if (buf[k] === HTAB) return true;
  return false;
}

/** The framing and connection headers both directions share. Returns 0 or an error id. */
export function applyCommonField(head: MessageHead, kind: number, buf: Uint8Array, vs: number, ve: number): number {
  switch (kind) {
    case HeaderKind.CONTENT_LENGTH: {
      // llhttp refuses a second Content-Length even with the same value, and so do we.
      if (head.contentLength !== -1) return E.DUPLICATE_CONTENT_LENGTH;
      const n = parseContentLength(buf, vs, ve);
      if (n < 0 || tabAfter(buf, ve)) return E.BAD_CONTENT_LENGTH;
      head.contentLength = n;
      return 0;
    }
    case HeaderKind.TRANSFER_ENCODING:
      if (tabAfter(buf, ve)) return E.BAD_TRANSFER_ENCODING;
      return scanTransferEncoding(head, buf, vs, ve);
    case HeaderKind.CONNECTION: scanConnection(head, buf, vs, ve); return 0;
    case HeaderKind.UPGRADE:
      if (head.upgradeStart < 0) { head.upgradeStart = vs; head.upgradeEnd = ve; }
      return 0;
    case HeaderKind.TRAILER: head.hasTrailerHeader = true; return 0;
    default: return 0;
  }
}

/** Host = uri-host [ ":" port ], checked bytewise (empty is allowed by RFC 9110 §7.2). */
export function isValidHost(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (HOST[buf[i]!] !== 1) return false;
  return true;
}

/** TE: whether the list holds the "trailers" token (parameters after ';' ignored). */
export function listsTrailers(buf: Uint8Array, start: number, end: number): boolean {
  let i = start;
  for (;;) {
    const stop = elementEnd(buf, i, end);
    while (i < stop && isOws(buf[i]!)) i++;
    let j = i;
    while (j < stop && buf[j] !== SEMI && !isOws(buf[j]!)) j++;
    if (j - i === 8 && equalsLower(buf, i, 'trailers')) return true;
    if (stop === end) return false;
    i = stop + 1;
  }
}
