/**
 * HTTP/2 for clients that ask for it by ALPN. The TLS server hands each 'h2' connection to a
 * node:http2 server that never listens itself; its compatibility request/response objects go
 * through the node:http forwarding path (src/proxy/exchange.ts) unchanged, after a small adapter
 * has made them look like what that path expects of HTTP/1.1:
 * - the request's header list without pseudo-headers, `Host` from `:authority`, cookies in one line;
 * - a request body without Content-Length (HTTP/2 frames bodies itself) marked as a body;
 * - response heads cleaned of what HTTP/2 forbids (connection-specific headers, repeated
 *   single-value headers), which node:http2 would otherwise throw on inside an event handler;
 * - trailers given as a list of pairs (as node:http takes them) turned into the object node:http2 takes;
 * - no status message (HTTP/2 has none, and setting one prints a warning).
 * Backends are still spoken to over HTTP/1.1.
 */
import type http from 'node:http';
import http2 from 'node:http2';
import type tls from 'node:tls';
import { originForm, type ProxyContext } from '../proxy/context.js';
import { plainResponse, type LocalResponse } from '../proxy/error-response.js';
import { Exchange } from '../proxy/exchange.js';
import { BadRequestHeaders } from '../proxy/headers.js';

/** Never valid in an HTTP/2 message (RFC 9113 §8.2.2); `te` is dropped from responses too. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);

/** Headers node:http2 refuses to send twice (its kSingleValueHeaders): a repeat is dropped, the first kept. */
const SINGLE_VALUE = new Set([
  'access-control-allow-credentials', 'access-control-max-age', 'access-control-request-method', 'age', 'authorization',
  'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type',
  'date', 'dnt', 'etag', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'tk', 'upgrade-insecure-requests', 'user-agent', 'x-content-type-options',
]);

export interface H2Limits {
  /** A session with no open stream is closed after this long without traffic. */
  readonly idleTimeoutMs: number;
  /** Largest request header list accepted (HPACK-decoded, as SETTINGS_MAX_HEADER_LIST_SIZE counts it). */
  readonly maxHeaderListSize: number;
}

export class H2Bridge {
  private readonly ctx: ProxyContext;
  private readonly limits: H2Limits;
  private readonly server: http2.Http2Server;
  /** Open sessions and how many streams each has open. */
  private readonly sessions = new Map<http2.ServerHttp2Session, number>();
  private draining = false;

  constructor(ctx: ProxyContext, limits: H2Limits) {
    this.ctx = ctx;
    this.limits = limits;
    this.server = http2.createServer({ settings: { maxHeaderListSize: limits.maxHeaderListSize } });
    this.server.on('session', this.onSession);
    this.server.on('request', this.onRequest);
  }

  /** Open connections (sessions). */
  get size(): number {
    return this.sessions.size;
  }

  accept(socket: tls.TLSSocket): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.server.emit('connection', socket);
  }

  /** GOAWAY to every session: streams in flight finish, no new ones start, each closes when done. */
  drain(): void {
    this.draining = true;
    for (const s of this.sessions.keys()) s.close();
  }

  /** Cut every session still open; returns how many there were. */
  destroyAll(): number {
    const n = this.sessions.size;
    for (const s of this.sessions.keys()) s.destroy();
    return n;
  }

  private readonly onSession = (session: http2.ServerHttp2Session): void => {
    this.sessions.set(session, 0);
    session.once('close', () => this.sessions.delete(session));
    session.on('error', () => {}); // the session is destroyed; the streams' owners hear 'close'
    const idle = (): void => {
      if ((this.sessions.get(session) ?? 0) === 0) session.close();
    };
    session.setTimeout(this.limits.idleTimeoutMs, idle);
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      this.sessions.set(session, (this.sessions.get(session) ?? 0) + 1);
      stream.once('close', () => {
        const open = (this.sessions.get(session) ?? 1) - 1;
        if (!this.sessions.has(session)) return;
        this.sessions.set(session, open);
        // The idle timer only fires once per quiet spell: arm it again (same listener) when the last stream ends.
        if (open === 0 && !session.closed) session.setTimeout(this.limits.idleTimeoutMs);
      });
    });
    if (this.draining) session.close();
  };

  private readonly onRequest = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void => {
    adaptResponse(res);
    if (req.method === 'CONNECT') {
      sendLocal(res, plainResponse(405, 'CONNECT is not supported'));
      return;
    }
    const path = originForm(req.url);
    if (path === null) {
      sendLocal(res, plainResponse(400, 'bad request target'));
      return;
    }
    const local = this.ctx.local(req.method, path);
    if (local !== null) {
      sendLocal(res, local);
      return;
    }
    adaptRequest(req);
    try {
      new Exchange(this.ctx, req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse, path).start();
    } catch (err) {
      if (!(err instanceof BadRequestHeaders)) throw err;
      sendLocal(res, plainResponse(400, err.message));
    }
  };
}

/** The request as the HTTP/1.1 path sees it. */
function adaptRequest(req: http2.Http2ServerRequest): void {
  const raw = req.rawHeaders;
  const out: string[] = [];
  const cookies: string[] = [];
  let host = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* : */) continue;
    if (name === 'cookie') {
      cookies.push(raw[i + 1]!);
      continue;
    }
    if (name === 'host') host = true;
    out.push(name, raw[i + 1]!);
  }
  // RFC 9113 §8.3.1: :authority stands for Host; §8.2.3: cookie crumbs are joined with "; ".
  if (!host && req.authority !== undefined && req.authority !== '') out.unshift('host', req.authority);
  if (cookies.length > 0) out.push('cookie', cookies.join('; '));
  if (!req.stream.endAfterHeaders && req.headers['content-length'] === undefined) {
    // HTTP/2 ends a body with END_STREAM: upstream that is a chunked body, whatever the method.
    req.headers['transfer-encoding'] = 'chunked';
    out.push('transfer-encoding', 'chunked');
  }
  Object.defineProperty(req, 'rawHeaders', { value: out, configurable: true });
}

type HeaderArg = http.OutgoingHttpHeaders | readonly (string | string[])[] | undefined;

function adaptResponse(res: http2.Http2ServerResponse): void {
  Object.defineProperty(res, 'statusMessage', { get: () => '', set: () => {}, configurable: true });
  const writeHead = res.writeHead as (status: number, headers?: string[]) => http2.Http2ServerResponse;
  // node:http2 calls this.writeHead itself (from end, write, flushHeaders), so these go through here too.
  Object.defineProperty(res, 'writeHead', {
    configurable: true,
    value(status: number, messageOrHeaders?: string | HeaderArg, headers?: HeaderArg): http2.Http2ServerResponse {
      const given = typeof messageOrHeaders === 'string' ? headers : messageOrHeaders;
      try {
        return writeHead.call(res, status, h2Headers(given));
      } catch {
        // Not a head HTTP/2 can carry: reset this stream rather than throw inside an event handler.
        res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        return res;
      }
    },
  });
  const addTrailers = res.addTrailers;
  Object.defineProperty(res, 'addTrailers', {
    configurable: true,
    value(trailers: http.OutgoingHttpHeaders | readonly (readonly [string, string])[]): void {
      const pairs: [string, string | string[] | number | undefined][] = Array.isArray(trailers)
        ? trailers.map(([k, v]) => [k, v]) : Object.entries(trailers as http.OutgoingHttpHeaders);
      const out: Record<string, string> = {};
      for (const [name, value] of pairs) {
        const lower = name.toLowerCase();
        if (value === undefined || CONNECTION_SPECIFIC.has(lower) || lower.charCodeAt(0) === 58) continue;
        const text = Array.isArray(value) ? value.join(', ') : String(value);
        out[lower] = out[lower] === undefined ? text : `${out[lower]}, ${text}`;
      }
      try {
        addTrailers.call(res, out);
      } catch {
        // Trailers are advisory: drop what HTTP/2 will not carry.
      }
    },
  });
}

/** A flat HTTP/1.1 header list (or object) as a flat list node:http2 accepts. */
function h2Headers(given: HeaderArg): string[] | undefined {
  if (given === undefined) return undefined;
  const flat: string[] = [];
  if (Array.isArray(given)) {
    for (let i = 0; i < given.length; i += 2) push(flat, String(given[i]), given[i + 1]);
  } else {
    for (const [name, value] of Object.entries(given as http.OutgoingHttpHeaders)) push(flat, name, value);
  }
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const lower = flat[i]!.toLowerCase();
    if (CONNECTION_SPECIFIC.has(lower) || lower.charCodeAt(0) === 58) continue;
    if (SINGLE_VALUE.has(lower)) {
      if (seen.has(lower)) continue;
      seen.add(lower);
    }
    out.push(lower, flat[i + 1]!);
  }
  return out;
}

function push(out: string[], name: string, value: unknown): void {
  if (value === undefined) return;
  if (Array.isArray(value)) for (const v of value) out.push(name, String(v));
  else out.push(name, String(value));
}

function sendLocal(res: http2.Http2ServerResponse, r: LocalResponse): void {
  res.writeHead(r.status, { ...r.headers, 'Content-Length': Buffer.byteLength(r.body) });
  res.end(r.body);
}
