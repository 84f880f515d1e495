/** Response heads: status line and the body framing rules of RFC 9112 §6.3. */
import { CR, FIELD_VALUE, LF, SP } from './chars.js';
import { E, NEED_MORE } from './errors.js';
import { applyCommonField } from './field-values.js';
import { markConnectionListed } from './connection-listed.js';
import { HeadParser } from './head-parser.js';
import type { HeadParserOptions } from './head-parser.js';
import { Body } from './message-head.js';
import type { BodyKind } from './message-head.js';
import { ResponseHead } from './response-head.js';
import { VERSION_LENGTH, scanVersion } from './version.js';

export class ResponseHeadParser extends HeadParser<ResponseHead> {
  #requestMethod = 'GET';

  constructor(options?: HeadParserOptions) {
    super(new ResponseHead(), 'response', options);
  }

  /** Like HeadParser.parse; requestMethod (of the request this answers) decides the framing. */
  override parse(buf: Buffer, start = 0, requestMethod = 'GET'): number {
    this.#requestMethod = requestMethod;
    return super.parse(buf, start);
  }

  /** HTTP-version SP 3DIGIT [SP reason-phrase] CRLF; the SP before an empty reason may be missing. */
  protected startLine(buf: Buffer, p: number, end: number): number {
    const ver = scanVersion(buf, p, end);
    if (ver === NEED_MORE) return this.needIn(null);
    if (ver < 0) return ver;
    if (ver !== 10 && ver !== 11) return -E.UNSUPPORTED_VERSION;
    this.head.versionMinor = ver - 10;
    let i = p + VERSION_LENGTH;
    const code = statusCode(buf, i, end);
    if (code < 0) return code === NEED_MORE ? this.needIn(null) : code;
    this.head.statusCode = code;
    i += 4;
    if (i === end) return this.needIn(null);
    if (buf[i] === SP) i++;
    else if (buf[i] !== CR) return buf[i] === LF ? -E.BARE_LF : -E.BAD_STATUS_LINE;
    const rs = i;
    while (i < end && FIELD_VALUE[buf[i]!] === 1) i++;
    if (i === end) return this.needIn(FIELD_VALUE);
    if (buf[i] !== CR) return buf[i] === LF ? -E.BARE_LF : -E.BAD_STATUS_LINE;
    if (i + 1 === end) return this.needIn(null);
    if (buf[i + 1] !== LF) return -E.BARE_CR;
    this.head.reasonStart = rs;
    this.head.reasonEnd = i;
    return i + 2;
  }

  protected applyField(kind: number, buf: Buffer, vs: number, ve: number): number {
    return applyCommonField(this.head, kind, buf, vs, ve);
  }

  protected finish(): number {
    const h = this.head;
    if (h.hasTransferEncoding && h.contentLength !== -1) return E.CONTENT_LENGTH_WITH_TRANSFER_ENCODING;
    if (h.chunkedCount > 1) return E.BAD_TRANSFER_ENCODING;
    const code = h.statusCode;
    h.informational = code < 200;
    h.switchingProtocols = code === 101;
    h.bodyKind = responseBody(h, this.#requestMethod);
    h.keepAlive = !h.connectionClose && (h.versionMinor === 1 || h.connectionKeepAlive) &&
      h.bodyKind !== Body.CLOSE && !h.switchingProtocols && !h.connectTunnel;
    markConnectionListed(h);
    return 0;
  }
}

/** SP 3DIGIT at i: the code (100..999), NEED_MORE, or -E.BAD_STATUS_LINE. */
function statusCode(buf: Uint8Array, i: number, end: number): number {
  if (i === end) return NEED_MORE;
  if (buf[i] !== SP) return -E.BAD_STATUS_LINE;
  let code = 0;
  for (let k = 1; k <= 3; k++) {
    if (i + k === end) return NEED_MORE;
    const d = buf[i + k]! - 0x30;
    if (d < 0 || d > 9) return -E.BAD_STATUS_LINE;
    code = code * 10 + d;
  }
  return code < 100 ? -E.BAD_STATUS_LINE : code;
}

/**
 * RFC 9112 §6.3, in order: no body after HEAD, 1xx, 204, 304 (even with Content-Length);
 * a 2xx to CONNECT starts a tunnel; Transfer-Encoding means chunked when chunked is the final
 * coding (HTTP/1.1 only, §6.1) and read-until-close otherwise; then Content-Length; then close.
 */
function responseBody(h: ResponseHead, method: string): BodyKind {
  const code = h.statusCode;
  if (method === 'HEAD' || code < 200 || code === 204 || code === 304) return Body.NONE;
  if (method === 'CONNECT' && code < 300) {
    h.connectTunnel = true;
    return Body.NONE;
  }
  if (h.hasTransferEncoding) return h.chunkedLast && h.versionMinor === 1 ? Body.CHUNKED : Body.CLOSE;
  if (h.contentLength >= 0) return h.contentLength > 0 ? Body.FIXED : Body.NONE;
  return Body.CLOSE;
}
