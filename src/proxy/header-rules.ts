/**
 * Every header rule of the proxy, in one place, for both client protocols. Backends are always
 * spoken to over HTTP/1.1, so the upstream side is always an HTTP/1.1 header block; the client
 * side is an HTTP/1.1 head (original lines copied byte for byte) or an HTTP/2 header object.
 *
 * Rules (RFC 9110 §7.6.1, RFC 9113 §8.2.2):
 * - hop-by-hop fields and those named in Connection are dropped both ways, except
 *   Transfer-Encoding (a relayed HTTP/1.1 body keeps its framing) and Trailer on responses;
 * - X-Forwarded-For gets the client appended; X-Forwarded-Host (the client's Host, only when it
 *   sent one), X-Forwarded-Proto and X-Real-IP are replaced;
 * - Host is the client's (HTTP/2: :authority; an absolute-form target's authority wins over
 *   Host, RFC 9112 §3.2.2); without one the backend's own authority is sent;
 * - TE: trailers is passed on; an HTTP/1.1 Upgrade is passed on for bodiless requests only;
 * - responses get X-Proxy: true.
 * Strings are latin1: every byte round-trips exactly.
 */
import {
  Body, FIELD_STRIDE, NAME_END, type MessageHead, FLAG_CONNECTION_LISTED, FLAG_HOP_BY_HOP, HeaderKind, KIND_MASK, LINE_END, NAME_START, VALUE_END, VALUE_START,
  type RequestHead, type ResponseHead,
} from '../http1/index.js';

const DROP = FLAG_HOP_BY_HOP | FLAG_CONNECTION_LISTED;

/**
 * Largest response head accepted from a backend. Go's transport, which sidekick uses, allows
 * 10 MB; node:http's 16 KiB turned responses with big Set-Cookie or policy headers into 502s.
 */
export const MAX_RESPONSE_HEAD_BYTES = 1024 * 1024;

/** What a request field becomes upstream. */
export const FieldRule = Object.freeze({ KEEP: 0, DROP: 1, APPEND_FOR: 2 });

/** The rule for a request field of the given kind and flags (see the module comment). */
export function requestFieldRule(flags: number): number {
  const kind = flags & KIND_MASK;
  if (kind === HeaderKind.TRANSFER_ENCODING) return FieldRule.KEEP;
  if ((flags & DROP) !== 0) return FieldRule.DROP;
  if (kind === HeaderKind.X_FORWARDED_FOR) return FieldRule.APPEND_FOR;
  if (kind === HeaderKind.X_FORWARDED_HOST || kind === HeaderKind.X_FORWARDED_PROTO || kind === HeaderKind.X_REAL_IP) return FieldRule.DROP;
  return FieldRule.KEEP;
}

/** Whether a response field of the given flags reaches the client (`upgrade`: a 101 keeps Upgrade/Connection). */
export function responseFieldKept(flags: number, upgrade: boolean): boolean {
  const kind = flags & KIND_MASK;
  return (flags & DROP) === 0 || kind === HeaderKind.TRANSFER_ENCODING || kind === HeaderKind.TRAILER ||
    (upgrade && (kind === HeaderKind.UPGRADE || kind === HeaderKind.CONNECTION));
}

export interface RequestFacts {
  readonly clientIp: string;
  /** 'http' or 'https': how the client reached us. */
  readonly proto: string;
}

/** The forwarding fields every upstream request ends with. `host` is the client's Host ('' when none). */
function forwardingLines(forwardedFor: string, host: string, facts: RequestFacts): string {
  let out = `X-Forwarded-For: ${forwardedFor === '' ? facts.clientIp : `${forwardedFor}, ${facts.clientIp}`}\r\n`;
  if (host !== '') out += `X-Forwarded-Host: ${host}\r\n`;
  return `${out}X-Forwarded-Proto: ${facts.proto}\r\nX-Real-IP: ${facts.clientIp}\r\n`;
}

/**
 * Whether to pass an HTTP/1.1 client's Upgrade on. Not with a body: a client that offers h2c on
 * its first PUT (Java's HttpClient does) gets a plain exchange, as a hop may drop Upgrade (RFC 9110 §7.8).
 */
export function upgradeRequested(h: RequestHead): boolean {
  return h.upgrade && h.upgradeStart >= 0 && h.bodyKind === Body.NONE;
}

/**
 * Header lines for the upstream request of an HTTP/1.1 client (no request line: it depends on
 * the backend). Lines are copied from the parsed head; Transfer-Encoding and Content-Length are
 * kept, the body is relayed with its own framing.
 */
export function h1UpstreamHeaderBlock(h: RequestHead, facts: RequestFacts): string {
  const buf = h.buffer;
  const offsets = h.offsets;
  let out = '';
  let forwardedFor = '';
  // RFC 9112 §3.2.2: an absolute-form target's authority replaces Host.
  const absolute = h.authorityStart >= 0;
  const host = absolute ? buf.toString('latin1', h.authorityStart, h.authorityEnd) : h.hostStart >= 0 ? buf.toString('latin1', h.hostStart, h.hostEnd) : '';
  if (absolute) out = `Host: ${host}\r\n`;
  for (let i = 0; i < h.headerCount; i++) {
    const rule = requestFieldRule(h.flags[i]!);
    if (rule === FieldRule.DROP || (absolute && (h.flags[i]! & KIND_MASK) === HeaderKind.HOST)) continue;
    const o = i * FIELD_STRIDE;
    if (rule === FieldRule.APPEND_FOR) {
      const v = buf.toString('latin1', offsets[o + VALUE_START]!, offsets[o + VALUE_END]!);
      forwardedFor = forwardedFor === '' ? v : `${forwardedFor}, ${v}`;
    } else {
      out += buf.toString('latin1', offsets[o + NAME_START]!, offsets[o + LINE_END]!);
    }
  }
  if (h.teTrailers) out += 'TE: trailers\r\n';
  if (upgradeRequested(h)) out += `Connection: Upgrade\r\nUpgrade: ${buf.toString('latin1', h.upgradeStart, h.upgradeEnd)}\r\n`;
  return out + forwardingLines(forwardedFor, host, facts);
}

/** Kinds of request field names an HTTP/2 client may send (lower case, as HTTP/2 requires). */
const KIND_OF_NAME: ReadonlyMap<string, number> = new Map([
  ['host', HeaderKind.HOST], ['content-length', HeaderKind.CONTENT_LENGTH], ['te', HeaderKind.TE],
  ['proxy-authorization', HeaderKind.PROXY_AUTHORIZATION], ['proxy-authenticate', HeaderKind.PROXY_AUTHENTICATE],
  ['x-forwarded-for', HeaderKind.X_FORWARDED_FOR], ['x-forwarded-host', HeaderKind.X_FORWARDED_HOST],
  ['x-forwarded-proto', HeaderKind.X_FORWARDED_PROTO], ['x-real-ip', HeaderKind.X_REAL_IP],
  // Connection-specific fields are refused before we see them (src/proxy/h2/request-head.ts); listed for completeness.
  ['connection', HeaderKind.CONNECTION], ['keep-alive', HeaderKind.KEEP_ALIVE], ['proxy-connection', HeaderKind.PROXY_CONNECTION],
  ['upgrade', HeaderKind.UPGRADE], ['trailer', HeaderKind.TRAILER], ['transfer-encoding', HeaderKind.TRANSFER_ENCODING],
]);
const HOP_KINDS = new Set<number>([
  HeaderKind.CONNECTION, HeaderKind.KEEP_ALIVE, HeaderKind.PROXY_CONNECTION, HeaderKind.UPGRADE, HeaderKind.TE,
  HeaderKind.TRAILER, HeaderKind.TRANSFER_ENCODING, HeaderKind.PROXY_AUTHORIZATION, HeaderKind.PROXY_AUTHENTICATE,
]);

/** Flags of an HTTP/2 field name, as the HTTP/1.1 parser would have set them. */
function h2Flags(name: string): number {
  const kind = KIND_OF_NAME.get(name) ?? HeaderKind.OTHER;
  return HOP_KINDS.has(kind) ? kind | FLAG_HOP_BY_HOP : kind;
}

/** Thrown for an HTTP/2 request that cannot be forwarded as sent; the adapter answers 400. */
export class BadRequestHeaders extends Error {}

/**
 * Header lines for the upstream request of an HTTP/2 client, from its decoded header list
 * (name/value pairs, lower-case names, pseudo-headers first). `authority` stands for Host (RFC 9113 §8.3.1), cookie
 * crumbs are joined with "; " (§8.2.3), and a body without Content-Length goes upstream chunked.
 */
export function h2UpstreamHeaderBlock(raw: readonly string[], authority: string, chunked: boolean, facts: RequestFacts): string {
  let out = '';
  let forwardedFor = '';
  let host = '';
  let cookies = '';
  let trailers = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* : */) continue;
    const value = raw[i + 1]!;
    if (name === 'cookie') {
      cookies = cookies === '' ? value : `${cookies}; ${value}`;
      continue;
    }
    const flags = h2Flags(name);
    if ((flags & KIND_MASK) === HeaderKind.TE) trailers ||= /(^|,)\s*trailers\s*(;|,|$)/i.test(value);
    if ((flags & KIND_MASK) === HeaderKind.HOST) {
      if (host !== '') throw new BadRequestHeaders('duplicate Host header');
      host = value;
    }
    const rule = requestFieldRule(flags);
    if (rule === FieldRule.DROP) continue;
    if (rule === FieldRule.APPEND_FOR) forwardedFor = forwardedFor === '' ? value : `${forwardedFor}, ${value}`;
    else if ((flags & KIND_MASK) !== HeaderKind.TRANSFER_ENCODING) out += `${name}: ${value}\r\n`;
  }
  if (host === '' && authority !== '') {
    host = authority;
    out = `host: ${authority}\r\n${out}`;
  }
  if (cookies !== '') out += `cookie: ${cookies}\r\n`;
  if (chunked) out += 'transfer-encoding: chunked\r\n';
  if (trailers) out += 'TE: trailers\r\n';
  return out + forwardingLines(forwardedFor, host, facts);
}

/**
 * The HTTP/1.1 head sent to the client for a backend response. `close` adds `Connection: close`
 * (the connection ends after this response); a 101 keeps its Upgrade and Connection lines.
 */
/**
 * What a response head to an HTTP/1.x client says about its connection: nothing (HTTP/1.1
 * persists by default), `Connection: close`, or `Connection: keep-alive` (an HTTP/1.0 client that
 * asked to keep the connection, RFC 9112 §9.3 and Appendix C.2.2).
 */
export const ClientConnectionField = Object.freeze({ NONE: 0, CLOSE: 1, KEEP_ALIVE: 2 });
export type ClientConnectionField = (typeof ClientConnectionField)[keyof typeof ClientConnectionField];

const CONNECTION_LINES = ['X-Proxy: true\r\n\r\n', 'X-Proxy: true\r\nConnection: close\r\n\r\n', 'X-Proxy: true\r\nConnection: keep-alive\r\n\r\n'];

export function h1ClientResponseHead(h: ResponseHead, connection: ClientConnectionField, extra: readonly string[] | null = null): string {
  const buf = h.buffer;
  const offsets = h.offsets;
  let out = `HTTP/1.1 ${h.statusCode} ${buf.toString('latin1', h.reasonStart, h.reasonEnd)}\r\n`;
  const upgrade = h.switchingProtocols;
  for (let i = 0; i < h.headerCount; i++) {
    if (!responseFieldKept(h.flags[i]!, upgrade)) continue;
    const o = i * FIELD_STRIDE;
    out += buf.toString('latin1', offsets[o + NAME_START]!, offsets[o + LINE_END]!);
  }
  if (extra !== null) for (let i = 0; i + 1 < extra.length; i += 2) out += `${extra[i]}: ${extra[i + 1]}\r\n`;
  out += CONNECTION_LINES[upgrade ? ClientConnectionField.NONE : connection]!;
  return out;
}

/** Never valid in an HTTP/2 response (RFC 9113 §8.2.2), beyond the hop-by-hop kinds. */
const H2_FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);

/** Fields with one value: a repeat from a backend is dropped, the first kept (HTTP/2 clients refuse a repeated content-length). */
const H2_SINGLE_VALUE = new Set([
  'access-control-allow-credentials', 'access-control-max-age', 'access-control-request-method', 'age', 'authorization',
  'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type',
  'date', 'dnt', 'etag', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'tk', 'upgrade-insecure-requests', 'user-agent', 'x-content-type-options',
]);

/**
 * HTTP/2 names of the field names backends sent so far ('' for a field HTTP/2 cannot carry).
 * Backends send the same few names on every response: the cached name is one string V8 has
 * already internalized as a property key, where a fresh lower-cased copy per field had to be
 * made, hashed and looked up again in the header object and in node's header encoding.
 * Bounded, so a backend inventing names cannot grow it.
 */
const H2_NAMES = new Map<string, string>();
const H2_NAMES_MAX = 512;

function h2Name(name: string): string {
  let h2 = H2_NAMES.get(name);
  if (h2 === undefined) {
    const lower = name.toLowerCase();
    h2 = H2_FORBIDDEN.has(lower) || lower.charCodeAt(0) === 58 ? '' : lower;
    if (H2_NAMES.size < H2_NAMES_MAX) H2_NAMES.set(name, h2);
  }
  return h2;
}

/**
 * Appends a name/value pair to an HTTP/2 header object, lower-casing the name and dropping what
 * HTTP/2 cannot carry; repeated fields become arrays (set-cookie) unless only one is allowed.
 */
export function addH2Field(out: Record<string, string | string[]>, name: string, value: string): void {
  const lower = h2Name(name);
  if (lower === '') return;
  const prev = out[lower];
  if (prev === undefined) out[lower] = value;
  else if (H2_SINGLE_VALUE.has(lower)) return;
  else if (Array.isArray(prev)) prev.push(value);
  else out[lower] = [prev, value];
}

/** The HTTP/2 header object for a backend's response head (no :status; the adapter adds it). */
export function h2ResponseHeaders(h: MessageHead): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const buf = h.buffer;
  const offsets = h.offsets;
  for (let i = 0; i < h.headerCount; i++) {
    if (!responseFieldKept(h.flags[i]!, false)) continue;
    const o = i * FIELD_STRIDE;
    addH2Field(out, buf.toString('latin1', offsets[o + NAME_START]!, offsets[o + NAME_END]!), buf.toString('latin1', offsets[o + VALUE_START]!, offsets[o + VALUE_END]!));
  }
  out['x-proxy'] = 'true';
  return out;
}

/**
 * The HTTP/2 name of each field of a backend's response head, by field index, into `names`:
 * '' for a field HTTP/2 does not carry (hop-by-hop, forbidden in HTTP/2) and for a repeat of a
 * single-value field, as addH2Field() decides. For heads encoded straight from the backend's
 * bytes (no header object); X-Proxy is the caller's to add.
 */
export function h2ResponseNames(h: MessageHead, names: string[]): void {
  const buf = h.buffer;
  const offsets = h.offsets;
  names.length = h.headerCount;
  for (let i = 0; i < h.headerCount; i++) {
    const o = i * FIELD_STRIDE;
    const name = responseFieldKept(h.flags[i]!, false) ? h2Name(buf.toString('latin1', offsets[o + NAME_START]!, offsets[o + NAME_END]!)) : '';
    names[i] = name !== '' && i > 0 && H2_SINGLE_VALUE.has(name) && names.lastIndexOf(name, i - 1) !== -1 ? '' : name;
  }
}

/** The HTTP/2 name of a field added to `names` (a filter's extra field), or '' to leave it out. */
export function h2ExtraName(name: string, names: readonly string[]): string {
  const lower = h2Name(name);
  return lower !== '' && H2_SINGLE_VALUE.has(lower) && names.includes(lower) ? '' : lower;
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

/**
 * host[:port] of a backend as a Host value, for requests that came without one (HTTP/1.0): the
 * port is part of it unless it is the scheme's default.
 */
export function backendAuthority(spec: { readonly protocol: string; readonly hostname: string; readonly port: number }): string {
  const host = spec.hostname.includes(':') ? `[${spec.hostname}]` : spec.hostname;
  const defaultPort = spec.protocol === 'https:' ? 443 : 80;
  return spec.port === defaultPort ? host : `${host}:${spec.port}`;
}

/** The client address without the IPv4-mapped IPv6 prefix. */
export function clientAddress(remote: string | undefined): string {
  if (remote === undefined) return '';
  return remote.startsWith('::ffff:') ? remote.slice(7) : remote;
}
