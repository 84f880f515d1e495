/** Request-target forms (RFC 9112 §3.2), checked against the method that allows each. */
import { COLON, HOST, SLASH, equalsLower } from './chars.js';
import { E } from './errors.js';
import type { RequestHead } from './request-head.js';

const STAR = 0x2a;
const QUESTION = 0x3f;
const HASH = 0x23;

/** Sets the target fields of head from buf[ts, te) (VCHAR bytes); returns 0 or an error id. */
export function classifyTarget(head: RequestHead, buf: Uint8Array, ts: number, te: number): number {
  head.targetStart = head.pathStart = ts;
  head.targetEnd = te;
  if (head.method === 'CONNECT') {
    head.targetForm = 'authority';
    return isAuthorityForm(buf, ts, te) ? 0 : E.BAD_TARGET;
  }
  const first = buf[ts];
  if (first === SLASH) return 0;
  if (first === STAR) {
    head.targetForm = 'asterisk';
    return te - ts === 1 && head.method === 'OPTIONS' ? 0 : E.BAD_TARGET;
  }
  return absoluteForm(head, buf, ts, te);
}

/** host ":" port, as CONNECT requires. */
function isAuthorityForm(buf: Uint8Array, ts: number, te: number): boolean {
  let colon = -1;
  for (let i = ts; i < te; i++) {
    if (HOST[buf[i]!] !== 1) return false;
    if (buf[i] === COLON) colon = i;
  }
  if (colon <= ts || colon === te - 1) return false;
  for (let i = colon + 1; i < te; i++) if (buf[i]! < 0x30 || buf[i]! > 0x39) return false;
  return true;
}

/**
 * "http://" or "https://" authority [path-abempty] ["?" query]. Userinfo ("@") is refused, as
 * RFC 9110 §4.2.4 asks, since it only serves to fool people reading the URL.
 */
function absoluteForm(head: RequestHead, buf: Uint8Array, ts: number, te: number): number {
  let a: number;
  if (te - ts > 7 && equalsLower(buf, ts, 'http://')) a = ts + 7;
  else if (te - ts > 8 && equalsLower(buf, ts, 'https://')) a = ts + 8;
  else return E.BAD_TARGET;
  let i = a;
  while (i < te && buf[i] !== SLASH && buf[i] !== QUESTION && buf[i] !== HASH) {
    if (HOST[buf[i]!] !== 1) return E.BAD_TARGET;
    i++;
  }
  if (i === a) return E.BAD_TARGET;
  head.targetForm = 'absolute';
  head.authorityStart = a;
  head.authorityEnd = i;
  head.pathStart = i;
  head.pathPrefix = i === te || buf[i] !== SLASH ? '/' : '';
  return 0;
}
