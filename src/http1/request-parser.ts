/** Request heads: request line, request-only headers, and the framing rules for requests. */
import { CR, LF, SP, TARGET, TOKEN, equalsLower } from './chars.js';
import { E, NEED_MORE } from './errors.js';
import { applyCommonField, isValidHost, listsTrailers } from './field-values.js';
import { markConnectionListed } from './connection-listed.js';
import { HeadParser } from './head-parser.js';
import type { HeadParserOptions } from './head-parser.js';
import { HeaderKind } from './header-kinds.js';
import { Body } from './message-head.js';
import { knownMethod } from './methods.js';
import { RequestHead } from './request-head.js';
import { classifyTarget } from './request-target.js';
import { skipTarget } from './swar.js';
import { VERSION_LENGTH, scanVersion } from './version.js';

export interface RequestHeadParserOptions extends HeadParserOptions {
  /**
   * Accept any token as a method. Off by default: like llhttp, only the methods Node knows
   * pass, and others get 501 (RFC 9110 §9.1), so nothing the backend's parser would choke on
   * is forwarded.
   */
  readonly allowUnknownMethods?: boolean;
}

export class RequestHeadParser extends HeadParser<RequestHead> {
  readonly allowUnknownMethods: boolean;

  constructor(options?: RequestHeadParserOptions) {
    super(new RequestHead(), 'request', options);
    this.allowUnknownMethods = options?.allowUnknownMethods ?? false;
  }

  /** method SP request-target SP HTTP-version CRLF, after any empty lines (RFC 9112 §2.2). */
  protected startLine(buf: Buffer, p: number, end: number): number {
    p = skipEmptyLines(buf, p, end);
    if (p < 0) return p === NEED_MORE ? this.needIn(null) : p;
    this.head.headStart = p;
    let i = p;
    while (i < end && TOKEN[buf[i]!] === 1) i++;
    if (i === end) return this.needIn(TOKEN);
    if (i === p || buf[i] === CR || buf[i] === LF) return -E.BAD_REQUEST_LINE;
    if (buf[i] !== SP) return -E.BAD_METHOD;
    const methodEnd = i;
    const ts = ++i;
    i = skipTarget(buf, this.view, i, end);
    if (i === end) return this.needIn(TARGET);
    if (i === ts) return -E.BAD_REQUEST_LINE;
    if (buf[i] !== SP) return buf[i] === CR || buf[i] === LF ? -E.BAD_REQUEST_LINE : -E.BAD_TARGET;
    const next = this.#versionAndEol(buf, i + 1, end, p);
    if (next < 0) return next;
    const err = this.#method(buf, p, methodEnd) || classifyTarget(this.head, buf, ts, i);
    return err === 0 ? next : -err;
  }

  /** HTTP/1.0 or HTTP/1.1, then CRLF; returns the offset after the line or < 0. */
  #versionAndEol(buf: Buffer, v: number, end: number, lineStart: number): number {
    if (v < end && buf[v] === SP) return -E.BAD_REQUEST_LINE;
    const ver = scanVersion(buf, v, end);
    if (ver === NEED_MORE) return this.needIn(null);
    if (ver < 0) return ver;
    const eol = v + VERSION_LENGTH;
    if (eol >= end) return this.needIn(null);
    if (buf[eol] !== CR) return buf[eol] === LF ? -E.BARE_LF : -E.BAD_REQUEST_LINE;
    if (eol + 1 === end) return this.needIn(null);
    if (buf[eol + 1] !== LF) return -E.BARE_CR;
    if (ver !== 10 && ver !== 11) return ver === 20 && isPriMethod(buf, lineStart) ? -E.HTTP2_PREFACE : -E.UNSUPPORTED_VERSION;
    this.head.versionMinor = ver - 10;
    return eol + 2;
  }

  #method(buf: Buffer, start: number, end: number): number {
    const known = knownMethod(buf, start, end);
    if (known !== null) this.head.method = known;
    else if (this.allowUnknownMethods) this.head.method = buf.toString('latin1', start, end);
    else return E.UNKNOWN_METHOD;
    return 0;
  }

  protected applyField(kind: number, buf: Buffer, vs: number, ve: number): number {
    const h = this.head;
    switch (kind) {
      case HeaderKind.HOST:
        if (h.hostStart >= 0) return E.DUPLICATE_HOST;
        if (!isValidHost(buf, vs, ve)) return E.BAD_HOST;
        h.hostStart = vs;
        h.hostEnd = ve;
        return 0;
      case HeaderKind.EXPECT:
        if (ve - vs === 12 && equalsLower(buf, vs, '100-continue')) h.expectContinue = true;
        return 0;
      case HeaderKind.TE:
        if (listsTrailers(buf, vs, ve)) h.teTrailers = true;
        return 0;
      default:
        return applyCommonField(h, kind, buf, vs, ve);
    }
  }

  protected finish(): number {
    const h = this.head;
    if (h.hostStart < 0) {
      if (h.versionMinor === 1) return E.MISSING_HOST;
      h.hostMissing = true;
    }
    const err = requestBody(h);
    if (err !== 0) return err;
    h.keepAlive = !h.connectionClose && (h.versionMinor === 1 || h.connectionKeepAlive);
    h.upgrade = h.upgradeStart >= 0 && h.connectionUpgrade;
    if (h.versionMinor === 0) h.expectContinue = false; // RFC 9110 §10.1.1: ignored in HTTP/1.0
    markConnectionListed(h);
    return 0;
  }
}

/**
 * RFC 9112 §6.1-6.3 for requests: chunked must be the final coding and used once, nothing may
 * carry both framings, HTTP/1.0 has no Transfer-Encoding; without either header there is no body.
 */
function requestBody(h: RequestHead): number {
  if (!h.hasTransferEncoding) {
    h.bodyKind = h.contentLength > 0 ? Body.FIXED : Body.NONE;
    return 0;
  }
  if (h.contentLength !== -1) return E.CONTENT_LENGTH_WITH_TRANSFER_ENCODING;
  if (h.versionMinor === 0 || !h.chunkedLast || h.chunkedCount !== 1) return E.BAD_TRANSFER_ENCODING;
  if (h.unknownTransferCoding) return E.UNSUPPORTED_TRANSFER_ENCODING;
  h.bodyKind = Body.CHUNKED;
  return 0;
}

/** Empty lines before a request line are skipped (clients may send CRLF after a body). */
function skipEmptyLines(buf: Uint8Array, p: number, end: number): number {
  while (p < end && buf[p] === CR) {
    if (p + 1 === end) return NEED_MORE;
    if (buf[p + 1] !== LF) return -E.BARE_CR;
    p += 2;
  }
  if (p === end) return NEED_MORE;
  return buf[p] === LF ? -E.BARE_LF : p;
}

function isPriMethod(buf: Uint8Array, p: number): boolean {
  return buf[p] === 0x50 && buf[p + 1] === 0x52 && buf[p + 2] === 0x49 && buf[p + 3] === SP;
}
