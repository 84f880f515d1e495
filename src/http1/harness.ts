/** Test helpers shared by the http1 test files (not used by the library itself). */
import { PARSE_ERROR, PARSE_NEED_MORE } from './head-parser.js';
import type { HeadParser } from './head-parser.js';
import type { MessageHead } from './message-head.js';
import { RequestHead } from './request-head.js';
import { ResponseHead } from './response-head.js';

export function bytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** Everything a parse produced, as plain data, for deep comparisons. */
export function snapshot(result: number, parser: HeadParser<MessageHead>): Record<string, unknown> {
  if (result === PARSE_ERROR) return { result, code: parser.error?.code, status: parser.error?.status };
  if (result === PARSE_NEED_MORE) return { result };
  const h = parser.head;
  const headers: string[][] = [];
  for (let i = 0; i < h.headerCount; i++) headers.push([h.nameAt(i), h.valueAt(i), String(h.flags[i])]);
  const out: Record<string, unknown> = {
    result, headStart: h.headStart, headEnd: h.headEnd, versionMinor: h.versionMinor, headers,
    contentLength: h.contentLength, bodyKind: h.bodyKind, keepAlive: h.keepAlive,
    connectionClose: h.connectionClose, connectionKeepAlive: h.connectionKeepAlive,
    connectionNames: h.connectionNameList(), upgradeValue: h.upgradeValue, hasTrailerHeader: h.hasTrailerHeader,
  };
  if (h instanceof RequestHead) {
    Object.assign(out, {
      method: h.method, target: h.target, targetForm: h.targetForm, path: h.path, authority: h.authority,
      host: h.host, hostMissing: h.hostMissing, expectContinue: h.expectContinue, teTrailers: h.teTrailers, upgrade: h.upgrade,
    });
  } else if (h instanceof ResponseHead) {
    Object.assign(out, { statusCode: h.statusCode, reason: h.reason, switchingProtocols: h.switchingProtocols, connectTunnel: h.connectTunnel });
  }
  return out;
}

type Parse = (buf: Buffer, start: number) => number;

/** Parses buf in one call. */
export function parseOnce(parser: HeadParser<MessageHead>, buf: Buffer, start = 0, parse?: Parse): Record<string, unknown> {
  parser.reset();
  const r = parse ? parse(buf, start) : parser.parse(buf, start);
  return snapshot(r, parser);
}

/**
 * Feeds buf[start..] growing by `step` bytes per call, as an engine appending socket reads
 * would, until the parser stops asking for more. Every intermediate result must be NEED_MORE.
 */
export function parseGrowing(parser: HeadParser<MessageHead>, buf: Buffer, start = 0, step = 1, parse?: Parse): Record<string, unknown> {
  parser.reset();
  let r = PARSE_NEED_MORE;
  for (let len = Math.min(buf.length, start + step); ; len = Math.min(buf.length, len + step)) {
    const view = Buffer.from(buf.subarray(0, len)); // a fresh buffer each time, like a concat
    r = parse ? parse(view, start) : parser.parse(view, start);
    if (r !== PARSE_NEED_MORE || len === buf.length) return snapshot(r, parser);
  }
}
