import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Backend } from '../upstream/backend.js';
import { errorAnswer, noBackendLeft, type LocalResponse } from './error-response.js';
import { ProxyError, upstreamSocketError } from './errors.js';
import { decideRetry } from './retry.js';
import {
  MAX_RESPONSE_HEAD_BYTES, authority, checkRequestHeaders, clientAddress, downstreamResponseHeaders, headerObject, upstreamRequestHeaders,
} from './headers.js';
import type { ProxyContext } from './context.js';
import { beginAttempt, endAttempt, traceExchange } from './attempts.js';

/**
 * Retries after a pooled connection turned out to be closed already. Bounded because each takes
 * another pooled socket, and a pool emptied by a backend restart can hold several dead ones.
 */
const MAX_STALE_RETRIES = 3;

/** An upstream failure with a stable code, so retry decisions branch on codes, not messages. */
interface TransportError extends Error {
  code?: string;
}

/**
 * One client request on its way through the proxy: picks a backend, forwards, retries when that
 * is safe, streams the answer back and records the outcome. Safe retry means: nothing of the
 * client's body was consumed, no response byte reached the client, and either the connection
 * never opened or the request can be sent twice (idempotent, or no body at all).
 */
export class Exchange {
  private readonly ctx: ProxyContext;
  private readonly req: http.IncomingMessage;
  private readonly res: http.ServerResponse;
  private readonly path: string;
  private readonly hasBody: boolean;
  private readonly started = performance.now();
  private readonly startedAt = Date.now();
  private headers: string[] | null = null;
  private tried: Backend[] | null = null;
  private backend: Backend | null = null;
  private upstream: http.ClientRequest | null = null;
  private bodyStarted = false;
  private responded = false;
  private done = false;
  private attempts = 0;
  private staleRetries = 0;
  private attemptStartedAt = 0;
  private ttfb = 0;
  private rx = 0;
  private tx = 0;
  private status = 0;
  private lastError: ProxyError | null = null;
  private connected = false;
  private lastBackend = '';

  constructor(ctx: ProxyContext, req: http.IncomingMessage, res: http.ServerResponse, path: string) {
    this.ctx = ctx;
    this.req = req;
    this.res = res;
    this.path = path;
    // Throws BadRequestHeaders here, where the engine answers 400, not after the startup gate.
    checkRequestHeaders(req.rawHeaders);
    const length = req.headers['content-length'];
    this.hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    res.once('close', this.onClientClose);
  }

  start(): void {
    if (this.ctx.startup.open) this.attempt();
    else void this.ctx.startup.wait().then(() => this.attempt());
  }

  private attempt(): void {
    if (this.done) return;
    const b = this.ctx.upstreams.pick(this.tried);
    if (b === null) {
      this.reply(noBackendLeft(this.lastError, this.path));
      return;
    }
    this.attempts++;
    this.backend = b;
    this.lastBackend = b.url;
    this.attemptStartedAt = performance.now();
    beginAttempt(b);
    const req = this.req;
    this.headers ??= upstreamRequestHeaders(req.rawHeaders, {
      clientIp: clientAddress(req.socket.remoteAddress), proto: this.ctx.proto, upgrade: null, defaultHost: authority(b.spec),
    });
    const options: http.RequestOptions = {
      agent: b.agent, host: b.spec.hostname, port: b.spec.port, method: req.method,
      path: b.spec.basePath + this.path, headers: this.headers, setHost: false, maxHeaderSize: MAX_RESPONSE_HEAD_BYTES,
    };
    const up = b.spec.protocol === 'https:' ? https.request(options) : http.request(options);
    this.connected = false;
    this.upstream = up;
    up.once('socket', this.onSocket);
    up.once('response', this.onResponse);
    up.on('information', this.onInformation);
    up.on('error', this.onUpstreamError);
    if (!this.hasBody) up.end();
  }

  private readonly onSocket = (socket: Socket): void => {
    const up = this.upstream!;
    if (!socket.connecting) {
      this.connected = true;
      this.sendBody(up);
      return;
    }
    const timer = setTimeout(() => {
      up.destroy(new ProxyError('UPSTREAM_CONNECT_TIMEOUT', `connect timeout after ${this.ctx.connectTimeoutMs} ms`));
    }, this.ctx.connectTimeoutMs);
    const connected = 'encrypted' in socket ? 'secureConnect' : 'connect';
    socket.once(connected, () => { clearTimeout(timer); this.connected = true; this.sendBody(up); });
    socket.once('close', () => clearTimeout(timer));
  };

  /** Stream the client's body only once a connection is open, so a failed connect loses nothing and can be retried. */
  private sendBody(up: http.ClientRequest): void {
    if (!this.hasBody || this.bodyStarted || up !== this.upstream) return;
    this.bodyStarted = true;
    this.req.on('data', this.countRx);
    this.req.pipe(up, { end: false });
    // Request trailers travel on: the upstream request is chunked whenever the client's was.
    this.req.once('end', () => {
      if (this.req.rawTrailers.length > 0) up.addTrailers(pairs(this.req.rawTrailers));
      up.end();
    });
  }

  private readonly countRx = (chunk: Buffer): void => {
    this.rx += chunk.length;
  };

  private readonly onInformation = (info: http.InformationEvent): void => {
    if (this.req.httpVersionMinor !== 1 || this.res.headersSent) return;
    if (info.statusCode === 100) this.res.writeContinue();
    else if (info.statusCode === 103) relayEarlyHints(this.res, downstreamResponseHeaders(info.rawHeaders, false));
  };

  private readonly onResponse = (ures: http.IncomingMessage): void => {
    const res = this.res;
    this.responded = true;
    this.ttfb = performance.now() - this.started;
    this.backend?.stats.recordTtfb(performance.now() - this.attemptStartedAt);
    this.status = ures.statusCode ?? 502;
    res.statusMessage = ures.statusMessage ?? '';
    res.writeHead(this.status, downstreamResponseHeaders(ures.rawHeaders, false));
    // A stream (SSE, a long poll, with a Content-Length or without) must not have its head held
    // until the backend writes body bytes. Flushing at once would cost every ordinary response a
    // separate write for its head, so wait for the end of this turn of the event loop: a body that
    // came in with the head has been piped by then and carries the head along.
    setImmediate(this.flushHead);
    ures.on('data', (chunk: Buffer) => { this.tx += chunk.length; });
    ures.pipe(res, { end: false });
    ures.once('end', () => {
      if (ures.rawTrailers.length > 0) res.addTrailers(pairs(ures.rawTrailers));
      res.end();
    });
    ures.once('close', () => {
      // A body cut short must reach the client as a broken response, never as a shorter whole one.
      if (!ures.complete && !this.done) {
        this.lastError = new ProxyError('UPSTREAM_BODY_BROKEN', 'backend closed the response early');
        this.ctx.upstreams.requestFailed(this.backend!, this.lastError.message);
        this.finish();
        res.destroy();
      }
    });
  };

  /** No body byte has gone out with the head yet (headersSent is already true after writeHead). */
  private readonly flushHead = (): void => {
    if (this.tx === 0 && !this.res.writableEnded && !this.res.destroyed) this.res.flushHeaders();
  };

  private readonly onUpstreamError = (err: TransportError): void => {
    if (this.done || this.responded) return;
    const b = this.backend!;
    const error = upstreamSocketError(err, this.connected);
    const verdict = decideRetry({ method: this.req.method ?? '', bodySent: this.bodyStarted, reused: this.upstream?.reusedSocket === true, error: error.code });
    this.release(b, !verdict.again);
    this.lastError = error;
    if (verdict.unhealthy) this.ctx.upstreams.requestFailed(b, error.message);
    if (verdict.again && this.staleRetries < MAX_STALE_RETRIES) {
      // Nor is it a real attempt: the same backend may take the request again (excluding it left a
      // one-backend site answering 502 to whoever came right after an idle timeout), and the retry
      // budget, which --max-retries can set to 0, is not spent on it.
      this.staleRetries++;
      this.attempts--;
      this.attempt();
      return;
    }
    if (verdict.elsewhere && this.attempts < this.ctx.maxAttempts) {
      b.stats.recordRetry();
      (this.tried ??= []).push(b);
      this.attempt();
      return;
    }
    this.reply(errorAnswer(error, this.path));
  };

  private readonly onClientClose = (): void => {
    if (this.done) return;
    if (this.res.writableFinished) {
      this.finish();
      return;
    }
    // The client went away: its own cancellation never counts against the backend.
    this.done = true;
    this.upstream?.destroy();
    if (this.backend !== null) this.release(this.backend, false);
    this.traceNow();
  };

  private reply(r: LocalResponse): void {
    this.status = r.status;
    this.responded = true;
    const res = this.res;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(r.status, { ...r.headers, 'Content-Length': Buffer.byteLength(r.body) });
    res.end(r.body);
    // Unread request bodies would otherwise stall the connection; drop it after answering.
    if (this.hasBody && !this.req.complete) res.shouldKeepAlive = false;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.backend !== null) this.release(this.backend, false);
    this.traceNow();
  }

  private release(b: Backend, failed: boolean): void {
    if (this.backend !== b) return;
    this.backend = null;
    endAttempt(b, this.attemptStartedAt, this.rx, this.tx, failed || this.status >= 500);
  }

  private traceNow(): void {
    const c = this.ctx.console;
    traceExchange(c, {
      backend: this.lastBackend, method: this.req.method ?? '', path: this.path, client: clientAddress(this.req.socket.remoteAddress),
      status: this.status, startedWall: this.startedAt, startedAt: this.started, ttfbMs: this.ttfb, rx: this.rx, tx: this.tx, error: this.lastError?.message,
    }, c.debug ? { requestHeaders: headerObject(this.req.rawHeaders), responseHeaders: this.res.getHeaders() as Record<string, unknown> } : undefined);
  }

}

/**
 * Relay a 103 through node:http's writeEarlyHints, which only looks for a lower-case `link` key
 * (with the backend's `Link` spelling it silently sent nothing) and throws on a Link value its
 * validator does not accept, such as a comma-separated list on one line: thrown from this event
 * handler, that would have crashed the process. So: Link lines split into single links, hints
 * that still do not validate dropped (they are only advice), every other header kept. `raw` is
 * already stripped of hop-by-hop headers.
 */
function relayEarlyHints(res: http.ServerResponse, raw: readonly string[]): void {
  const links: string[] = [];
  const hints: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.toLowerCase() === 'link') links.push(...raw[i + 1]!.split(/,\s*(?=<)/));
    else hints[name] = raw[i + 1]!;
  }
  if (links.length === 0) return;
  hints['link'] = links;
  try {
    res.writeEarlyHints(hints);
  } catch {
    // Not a Link value node:http will write: drop the hints, the final response still follows.
  }
}

function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}
