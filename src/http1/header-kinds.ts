/**
 * Well-known header names, recognised by length and bytes so the engine never compares
 * strings: each parsed header line carries one of these kinds plus flag bits.
 */
import { equalsLower } from './chars.js';

export const HeaderKind = Object.freeze({
  OTHER: 0,
  HOST: 1,
  CONTENT_LENGTH: 2,
  TRANSFER_ENCODING: 3,
  CONNECTION: 4,
  KEEP_ALIVE: 5,
  PROXY_CONNECTION: 6,
  UPGRADE: 7,
  TE: 8,
  TRAILER: 9,
  EXPECT: 10,
  PROXY_AUTHORIZATION: 11,
  PROXY_AUTHENTICATE: 12,
  X_FORWARDED_FOR: 13,
  X_FORWARDED_HOST: 14,
  X_FORWARDED_PROTO: 15,
  X_REAL_IP: 16,
});
export type HeaderKind = (typeof HeaderKind)[keyof typeof HeaderKind];

/** Low bits of a header's flags byte hold its kind. */
export const KIND_MASK = 0x1f;
/** Hop-by-hop by definition (RFC 9110 §7.6.1 plus Go ReverseProxy's list): Connection, Keep-Alive, Proxy-Connection, Upgrade, TE, Trailer, Transfer-Encoding, Proxy-Authorization, Proxy-Authenticate. */
export const FLAG_HOP_BY_HOP = 0x40;
/**
 * Named in the message's Connection header. Never set on Content-Length, Transfer-Encoding or
 * Host: a client listing them must not make the proxy drop the framing of a relayed body.
 */
export const FLAG_CONNECTION_LISTED = 0x80;

const HOP_KINDS = new Set<number>([
  HeaderKind.CONNECTION, HeaderKind.KEEP_ALIVE, HeaderKind.PROXY_CONNECTION, HeaderKind.UPGRADE,
  HeaderKind.TE, HeaderKind.TRAILER, HeaderKind.TRANSFER_ENCODING,
  HeaderKind.PROXY_AUTHORIZATION, HeaderKind.PROXY_AUTHENTICATE,
]);

/** Kind plus FLAG_HOP_BY_HOP where it applies, indexed by kind. */
export const KIND_FLAGS: Uint8Array = (() => {
  const t = new Uint8Array(32);
  for (let k = 0; k < 32; k++) t[k] = k | (HOP_KINDS.has(k) ? FLAG_HOP_BY_HOP : 0);
  return t;
})();

/** Classifies the token buf[start, end); a switch on the length rejects most names in one step. */
export function classifyName(buf: Uint8Array, start: number, end: number): number {
  switch (end - start) {
    case 2: return equalsLower(buf, start, 'te') ? HeaderKind.TE : 0;
    case 4: return equalsLower(buf, start, 'host') ? HeaderKind.HOST : 0;
    case 6: return equalsLower(buf, start, 'expect') ? HeaderKind.EXPECT : 0;
    case 7:
      if (equalsLower(buf, start, 'upgrade')) return HeaderKind.UPGRADE;
      return equalsLower(buf, start, 'trailer') ? HeaderKind.TRAILER : 0;
    case 9: return equalsLower(buf, start, 'x-real-ip') ? HeaderKind.X_REAL_IP : 0;
    case 10:
      if (equalsLower(buf, start, 'connection')) return HeaderKind.CONNECTION;
      return equalsLower(buf, start, 'keep-alive') ? HeaderKind.KEEP_ALIVE : 0;
    case 14: return equalsLower(buf, start, 'content-length') ? HeaderKind.CONTENT_LENGTH : 0;
    case 15: return equalsLower(buf, start, 'x-forwarded-for') ? HeaderKind.X_FORWARDED_FOR : 0;
    case 16:
      if (equalsLower(buf, start, 'proxy-connection')) return HeaderKind.PROXY_CONNECTION;
      return equalsLower(buf, start, 'x-forwarded-host') ? HeaderKind.X_FORWARDED_HOST : 0;
    case 17:
      if (equalsLower(buf, start, 'transfer-encoding')) return HeaderKind.TRANSFER_ENCODING;
      return equalsLower(buf, start, 'x-forwarded-proto') ? HeaderKind.X_FORWARDED_PROTO : 0;
    case 18: return equalsLower(buf, start, 'proxy-authenticate') ? HeaderKind.PROXY_AUTHENTICATE : 0;
    case 19: return equalsLower(buf, start, 'proxy-authorization') ? HeaderKind.PROXY_AUTHORIZATION : 0;
    default: return 0;
  }
}
