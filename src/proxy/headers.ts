/**
 * Header rewriting for both directions. Works on Node's flat raw header lists
 * ([name, value, name, value, ...]) so names keep their case and repeated headers their order.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy ones Go's proxy strips too). */
const HOP_BY_HOP = new Set([
  'connection', 'proxy-connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/** Headers the proxy sets itself on the way to the backend. */
const REPLACED = new Set(['x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'x-forwarded-for']);

export interface ForwardFacts {
  readonly clientIp: string;
  /** 'http' or 'https': how the client reached us. */
  readonly proto: string;
  /** Keep the Upgrade/Connection pair (a WebSocket handshake). */
  readonly upgrade: string | null;
  /** Host to send when the client sent none (HTTP/1.0). */
  readonly defaultHost: string;
}

export class BadRequestHeaders extends Error {}

/**
 * Largest response head accepted from a backend. node:http's default (16 KiB, our limit for
 * client requests) turned responses with big Set-Cookie or policy headers into 502s; Go's
 * transport, which sidekick uses, allows 10 MB. Backends are trusted, a few big heads are fine.
 */
export const MAX_RESPONSE_HEAD_BYTES = 1024 * 1024;

/**
 * host[:port] of a backend as a Host header value, for requests that came without one (HTTP/1.0):
 * the port is part of it unless it is the scheme's default (sending the bare host name made a
 * backend on :9000 see itself addressed on :80).
 */
export function authority(spec: { readonly protocol: string; readonly hostname: string; readonly port: number }): string {
  const host = spec.hostname.includes(':') ? `[${spec.hostname}]` : spec.hostname;
  const defaultPort = spec.protocol === 'https:' ? 443 : 80;
  return spec.port === defaultPort ? host : `${host}:${spec.port}`;
}

/** Names listed in Connection headers, lower case; null when there are none (the common case). */
function connectionListed(raw: readonly string[]): Set<string> | null {
  let listed: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) {
      const t = token.trim().toLowerCase();
      if (t !== '') (listed ??= new Set()).add(t);
    }
  }
  return listed;
}

/**
 * Refuse, before anything else happens, a request that cannot be forwarded as it is. Engines call
 * this where a throw becomes a 400: upstreamRequestHeaders runs later, possibly in a callback after
 * the startup gate opens, where the same throw would be an unhandled rejection that ends the process.
 */
export function checkRequestHeaders(raw: readonly string[]): void {
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host' && ++hosts > 1) throw new BadRequestHeaders('duplicate Host header');
  }
}

/** The header list to send upstream for a client request. Throws BadRequestHeaders on a duplicate Host. */
export function upstreamRequestHeaders(raw: readonly string[], facts: ForwardFacts): string[] {
  const listed = connectionListed(raw);
  const out: string[] = [];
  let forwardedFor = '';
  let host: string | null = null;
  let trailers = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === 'host') {
      if (host !== null) throw new BadRequestHeaders('duplicate Host header');
      host = value;
    } else if (lower === 'transfer-encoding') {
      // Kept, so node:http frames the relayed body as chunked for every method (a GET with a
      // chunked body must not go out unframed) and a content coding such as gzip stays declared.
      out.push(name, value);
      continue;
    } else if (HOP_BY_HOP.has(lower)) {
      if (lower === 'te' && /(^|,)\s*trailers\s*(;|,|$)/i.test(value)) trailers = true;
      continue;
    } else if (REPLACED.has(lower)) {
      if (lower === 'x-forwarded-for') forwardedFor = forwardedFor === '' ? value : `${forwardedFor}, ${value}`;
      continue;
    } else if (listed !== null && listed.has(lower)) {
      continue;
    }
    out.push(name, value);
  }
  if (host === null) out.push('Host', facts.defaultHost);
  if (trailers) out.push('TE', 'trailers');
  if (facts.upgrade !== null) out.push('Connection', 'Upgrade', 'Upgrade', facts.upgrade);
  out.push(
    'X-Forwarded-For', forwardedFor === '' ? facts.clientIp : `${forwardedFor}, ${facts.clientIp}`,
    'X-Forwarded-Host', host ?? facts.defaultHost,
    'X-Forwarded-Proto', facts.proto,
    'X-Real-IP', facts.clientIp,
  );
  return out;
}

/**
 * The header list to send the client for a backend response: hop-by-hop headers dropped (Node
 * frames the body itself), `Trailer` kept when trailers will be relayed, `X-Proxy: true` added.
 */
export function downstreamResponseHeaders(raw: readonly string[], keepUpgrade: boolean): string[] {
  const listed = connectionListed(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'trailer' || (keepUpgrade && (lower === 'upgrade' || lower === 'connection'))) out.push(name, raw[i + 1]!);
      continue;
    }
    if (listed !== null && listed.has(lower)) continue;
    out.push(name, raw[i + 1]!);
  }
  out.push('X-Proxy', 'true');
  return out;
}

/** The client address without the IPv4-mapped IPv6 prefix. */
export function clientAddress(remote: string | undefined): string {
  if (remote === undefined) return '';
  return remote.startsWith('::ffff:') ? remote.slice(7) : remote;
}

/** Headers as an object for debug traces. */
export function headerObject(raw: readonly string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!;
    o[k] = o[k] === undefined ? raw[i + 1]! : `${o[k]}, ${raw[i + 1]!}`;
  }
  return o;
}
