import {
  Body, FIELD_STRIDE, NAME_END, type MessageHead, FLAG_CONNECTION_LISTED, FLAG_HOP_BY_HOP, HeaderKind, KIND_MASK, LINE_END, NAME_START, VALUE_END, VALUE_START,
  type RequestHead, type ResponseHead,
} from '../../http1/index.js';

/**
 * Heads for the raw engine, built by copying the original header lines byte for byte and
 * touching only what a proxy must: hop-by-hop headers out, forwarding headers in. Strings are
 * latin1 so every byte round-trips exactly.
 */

const DROP = FLAG_HOP_BY_HOP | FLAG_CONNECTION_LISTED;

export interface RequestFacts {
  readonly clientIp: string;
  readonly proto: string;
}

/**
 * Whether to pass the client's Upgrade on. Not with a body: a client that offers h2c on its first
 * PUT (Java's HttpClient does) gets a plain HTTP/1.1 exchange, as a hop may drop Upgrade (RFC 9110 §7.8).
 */
export function upgradeRequested(h: RequestHead): boolean {
  return h.upgrade && h.upgradeStart >= 0 && h.bodyKind === Body.NONE;
}

/**
 * Header lines for the upstream request (no request line, which depends on the backend).
 * Transfer-Encoding and Content-Length lines are kept: the body is relayed with its own framing.
 */
export function upstreamHeaderBlock(h: RequestHead, facts: RequestFacts): string {
  const buf = h.buffer;
  const offsets = h.offsets;
  let out = '';
  let forwardedFor = '';
  for (let i = 0; i < h.headerCount; i++) {
    const flags = h.flags[i]!;
    const kind = flags & KIND_MASK;
    const o = i * FIELD_STRIDE;
    if (kind === HeaderKind.TRANSFER_ENCODING) {
      out += buf.toString('latin1', offsets[o + NAME_START]!, offsets[o + LINE_END]!);
    } else if ((flags & DROP) !== 0 || kind === HeaderKind.X_FORWARDED_HOST || kind === HeaderKind.X_FORWARDED_PROTO || kind === HeaderKind.X_REAL_IP) {
      continue;
    } else if (kind === HeaderKind.X_FORWARDED_FOR) {
      const v = buf.toString('latin1', offsets[o + VALUE_START]!, offsets[o + VALUE_END]!);
      forwardedFor = forwardedFor === '' ? v : `${forwardedFor}, ${v}`;
    } else {
      out += buf.toString('latin1', offsets[o + NAME_START]!, offsets[o + LINE_END]!);
    }
  }
  if (h.teTrailers) out += 'TE: trailers\r\n';
  if (upgradeRequested(h)) out += `Connection: Upgrade\r\nUpgrade: ${buf.toString('latin1', h.upgradeStart, h.upgradeEnd)}\r\n`;
  out += `X-Forwarded-For: ${forwardedFor === '' ? facts.clientIp : `${forwardedFor}, ${facts.clientIp}`}\r\n`;
  if (h.hostStart >= 0) out += `X-Forwarded-Host: ${buf.toString('latin1', h.hostStart, h.hostEnd)}\r\n`;
  out += `X-Forwarded-Proto: ${facts.proto}\r\nX-Real-IP: ${facts.clientIp}\r\n`;
  return out;
}

/**
 * The head sent to the client for a backend response. `close` adds `Connection: close` (the
 * client connection ends after this response); a 101 keeps its Upgrade and Connection lines.
 */
export function clientResponseHead(h: ResponseHead, close: boolean): string {
  const buf = h.buffer;
  const offsets = h.offsets;
  let out = `HTTP/1.1 ${h.statusCode} ${buf.toString('latin1', h.reasonStart, h.reasonEnd)}\r\n`;
  const upgrade = h.switchingProtocols;
  for (let i = 0; i < h.headerCount; i++) {
    const flags = h.flags[i]!;
    const kind = flags & KIND_MASK;
    const keep = (flags & DROP) === 0 || kind === HeaderKind.TRANSFER_ENCODING || kind === HeaderKind.TRAILER ||
      (upgrade && (kind === HeaderKind.UPGRADE || kind === HeaderKind.CONNECTION));
    if (!keep) continue;
    const o = i * FIELD_STRIDE;
    out += buf.toString('latin1', offsets[o + NAME_START]!, offsets[o + LINE_END]!);
  }
  out += close && !upgrade ? 'X-Proxy: true\r\nConnection: close\r\n\r\n' : 'X-Proxy: true\r\n\r\n';
  return out;
}

/** A head's fields as an object, for --debug traces only (allocates). */
export function headerObject(h: MessageHead): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < h.headerCount; i++) {
    const o = i * FIELD_STRIDE;
    const name = h.buffer.toString('latin1', h.offsets[o + NAME_START]!, h.offsets[o + NAME_END]!);
    const value = h.buffer.toString('latin1', h.offsets[o + VALUE_START]!, h.offsets[o + VALUE_END]!);
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  return out;
}
