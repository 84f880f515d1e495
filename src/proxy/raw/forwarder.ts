import {
  Body, ChunkedWalker, CloseDelimitedBody, FixedLengthBody, ResponseHeadParser,
  type BodyFramer, type RequestHead, type ResponseHead,
} from '../../http1/index.js';
import type { Backend } from '../../upstream/backend.js';
import { errorAnswer, noBackendLeft, plainResponse, type LocalResponse } from '../error-response.js';
import { ProxyError, upstreamSocketError } from '../errors.js';
import { decideRetry, replayable } from '../retry.js';
import { MAX_RESPONSE_HEAD_BYTES } from '../headers.js';
import type { ProxyContext } from '../context.js';
import { beginAttempt, endAttempt, traceExchange } from '../attempts.js';
import { clientResponseHead, headerObject, upgradeRequested, upstreamHeaderBlock } from './heads.js';
import { UpstreamPool, type UpstreamConnection, type UpstreamOwner } from './upstream-pool.js';
import type { ClientConnection } from './client-connection.js';

/** Body bytes held while the upstream connection opens, before the client is paused. */
const HOLD_LIMIT = 256 * 1024;
const PARSE_NEED_MORE = -1;
/**
 * A request body cannot be sent twice, so it does not go onto a pooled connection idle longer
 * than this: such a connection is the one a backend's keep-alive timeout may be closing right
 * now (Node servers close after 5 s), and losing that race would cost the client a 502. Busy
 * connections, the ones an upload-heavy client keeps reusing, are younger than this.
 */
const MAX_IDLE_FOR_BODY_MS = 1_000;

const closeDelimited = new CloseDelimitedBody();

function poolOf(b: Backend): UpstreamPool {
  return (b.pool ??= new UpstreamPool(b)) as UpstreamPool;
}

/**
 * Forwards one request at a time for a client connection (and is reused for the next): picks a
 * backend, writes the rewritten head, relays the body bytes as they are (counting Content-Length
 * or walking chunks, never re-framing), relays the response the same way, and retries on another
 * backend when that is safe. Holding the request body until the upstream connection is open
 * keeps a failed connect retryable even for uploads.
 */
export class Forwarder implements UpstreamOwner {
  private readonly client: ClientConnection;
  private readonly ctx: ProxyContext;
  private readonly responseParser = new ResponseHeadParser({ maxHeadSize: MAX_RESPONSE_HEAD_BYTES });
  private readonly fixedRequest = new FixedLengthBody(0);
  private readonly chunkedRequest = new ChunkedWalker({ side: 'request' });
  private readonly fixedResponse = new FixedLengthBody(0);
  private readonly chunkedResponse = new ChunkedWalker({ side: 'response' });

  private active = false;
  /** Requests started on this connection, to tell one response's events from the next's. */
  private requestCount = 0;
  private method = 'GET';
  private path = '/';
  private versionMinor = 1;
  private headerBlock = '';
  private hostMissing = false;
  private requestFramer: BodyFramer | null = null;
  private requestDone = true;
  private held: Buffer[] | null = null;
  private heldBytes = 0;
  private bodySent = false;
  private keepAliveClient = true;
  private upgrade = false;
  private startedAt = 0;
  private startedWall = 0;
  private rx = 0;
  private tx = 0;
  private status = 0;
  private ttfb = 0;
  private tried: Backend[] | null = null;
  private attempts = 0;
  private staleRetried = false;
  private backend: Backend | null = null;
  private lastBackend = '';
  private conn: UpstreamConnection | null = null;
  private attemptStartedAt = 0;
  private connectTimer: NodeJS.Timeout | null = null;
  private responsePending: Buffer | null = null;
  private responseFramer: BodyFramer | null = null;
  private responseKeepAlive = false;
  private responded = false;
  private clientClose = false;
  private tunnel = false;
  private uploadPaused = false;
  private downloadPaused = false;
  private lastError: ProxyError | null = null;
  /** Only with --debug: the heads as objects for the trace. */
  private debugHeaders: { requestHeaders: Record<string, unknown>; responseHeaders: Record<string, unknown> } | null = null;

  constructor(client: ClientConnection, ctx: ProxyContext) {
    this.client = client;
    this.ctx = ctx;
  }

  start(head: RequestHead): void {
    this.active = true;
    this.requestCount++;
    this.method = head.method;
    this.path = head.path;
    this.versionMinor = head.versionMinor;
    this.headerBlock = upstreamHeaderBlock(head, { clientIp: this.client.clientIp, proto: this.ctx.proto });
    this.hostMissing = head.hostStart < 0;
    this.requestFramer = this.framerFor(head);
    this.requestDone = this.requestFramer === null;
    this.keepAliveClient = head.keepAlive && head.versionMinor === 1;
    this.upgrade = upgradeRequested(head);
    this.held = null;
    this.heldBytes = 0;
    this.bodySent = this.responded = this.tunnel = this.clientClose = false;
    this.uploadPaused = this.downloadPaused = false;
    this.startedAt = performance.now();
    this.startedWall = Date.now();
    this.rx = this.tx = this.status = this.ttfb = this.attempts = 0;
    this.staleRetried = false;
    this.tried = null;
    this.lastError = null;
    this.lastBackend = '';
    this.debugHeaders = this.ctx.console.debug ? { requestHeaders: headerObject(head), responseHeaders: {} } : null;
    if (this.ctx.startup.open) this.attempt();
    else void this.ctx.startup.wait().then(() => { if (this.active) this.attempt(); });
  }

  private framerFor(head: RequestHead): BodyFramer | null {
    if (head.bodyKind === Body.CHUNKED) {
      this.chunkedRequest.reset();
      return this.chunkedRequest;
    }
    if (head.bodyKind === Body.FIXED && head.contentLength > 0) {
      this.fixedRequest.reset(head.contentLength);
      return this.fixedRequest;
    }
    return null;
  }

  // ---- request side ----

  /** Bytes from the client while this request is active; returns how many belong to it. */
  requestBody(chunk: Buffer): number {
    if (this.tunnel) {
      this.rx += chunk.length;
      if (this.conn !== null && !this.conn.write(chunk)) this.pauseUpload();
      return chunk.length;
    }
    if (this.requestDone) return 0;
    const framer = this.requestFramer!;
    const n = framer.feed(chunk, 0, chunk.length);
    if (n < 0) {
      this.abortRequest(400, 'malformed chunked request body');
      return chunk.length;
    }
    if (n > 0) {
      this.rx += n;
      this.sendBody(n === chunk.length ? chunk : chunk.subarray(0, n));
    }
    if (framer.done) this.requestDone = true;
    return n;
  }

  private sendBody(part: Buffer): void {
    const conn = this.conn;
    if (conn !== null && conn.connected && this.held === null) {
      this.bodySent = true;
      if (!conn.write(part)) this.pauseUpload();
      return;
    }
    (this.held ??= []).push(part);
    this.heldBytes += part.length;
    if (this.heldBytes > HOLD_LIMIT) this.pauseUpload();
  }

  private flushHeld(conn: UpstreamConnection): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    this.heldBytes = 0;
    this.bodySent = true;
    let ok = true;
    for (const part of held) ok = conn.write(part);
    if (ok && this.uploadPaused) this.resumeUpload();
  }

  private pauseUpload(): void {
    this.uploadPaused = true;
    this.client.socket.pause();
  }

  private resumeUpload(): void {
    this.uploadPaused = false;
    this.client.socket.resume();
  }

  // ---- attempts ----

  /** One attempt; `fresh` retries that backend on a new connection (after a stale pooled one). */
  private attempt(fresh: Backend | null = null): void {
    const b = fresh ?? this.ctx.upstreams.pick(this.tried);
    if (b === null) {
      this.replyError(noBackendLeft(this.lastError, this.path));
      return;
    }
    this.attempts++;
    this.backend = b;
    this.lastBackend = b.url;
    beginAttempt(b);
    this.attemptStartedAt = performance.now();
    this.responseParser.reset();
    this.responsePending = null;
    this.responseFramer = null;
    // A request that cannot be sent twice avoids the connections a backend may be closing.
    const cannotReplay = !replayable(this.method, this.requestFramer !== null);
    const conn = poolOf(b).acquire(this, fresh !== null, cannotReplay ? MAX_IDLE_FOR_BODY_MS : 0);
    this.conn = conn;
    const host = this.hostMissing ? `Host: ${b.spec.hostname}:${b.spec.port}\r\n` : '';
    conn.write(`${this.method} ${b.spec.basePath}${this.path} HTTP/1.${this.versionMinor}\r\n${host}${this.headerBlock}\r\n`);
    if (conn.connected) this.flushHeld(conn);
    else this.connectTimer = setTimeout(this.onConnectTimeout, this.ctx.connectTimeoutMs);
  }

  private readonly onConnectTimeout = (): void => {
    this.connectTimer = null;
    this.conn?.socket.destroy(new ProxyError('UPSTREAM_CONNECT_TIMEOUT', `connect timeout after ${this.ctx.connectTimeoutMs} ms`));
  };

  private clearConnectTimer(): void {
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
  }

  onUpstreamConnect(conn: UpstreamConnection): void {
    if (conn !== this.conn) return;
    this.clearConnectTimer();
    this.flushHeld(conn);
  }

  onUpstreamDrain(conn: UpstreamConnection): void {
    if (conn === this.conn && this.uploadPaused) this.resumeUpload();
  }

  // ---- response side ----

  onUpstreamData(conn: UpstreamConnection, buf: Buffer, n: number): boolean {
    if (conn !== this.conn) return true;
    const socket = this.client.socket;
    let data = buf;
    let pos = 0;
    let end = n;
    let corked = false;
    if (this.responseFramer === null) {
      if (this.responsePending !== null) {
        data = Buffer.concat([this.responsePending, buf.subarray(0, n)]);
        end = data.length;
        this.responsePending = null;
      }
      pos = this.readHeads(conn, data, end);
      if (pos < 0) return true;
      // The head and the first body bytes leave in one write.
      corked = true;
    }
    const request = this.requestCount;
    // Once this response is complete the connection is back in the pool (or serving the next
    // request): it must never be left paused for this response's slow client.
    const flowing = this.relayBody(conn, data, pos, end) || request !== this.requestCount || conn !== this.conn;
    if (corked) socket.uncork();
    // A write that did not complete at once still points into the read buffer: read elsewhere next.
    if (data === buf && socket.writableLength > 0) conn.retainReadBuffer();
    return flowing;
  }

  /** Parses response heads (interim ones included); returns where the body starts, or -1. */
  private readHeads(conn: UpstreamConnection, data: Buffer, end: number): number {
    let pos = 0;
    for (;;) {
      const r = this.responseParser.parse(end === data.length ? data : data.subarray(0, end), pos, this.method);
      if (r === PARSE_NEED_MORE) {
        // The read buffer is reused: keep a copy of a head split across reads.
        this.responsePending = Buffer.from(data.subarray(pos, end));
        return -1;
      }
      if (r < 0) {
        this.malformedResponse(conn, this.responseParser.error?.message ?? 'unparsable response');
        return -1;
      }
      this.responseParser.reset();
      const h = this.responseParser.head;
      if (h.informational && !h.switchingProtocols) {
        if ((h.statusCode === 100 || h.statusCode === 103) && this.versionMinor === 1) this.client.socket.write(clientResponseHead(h, false), 'latin1');
        pos = r;
        continue;
      }
      if (h.switchingProtocols && !this.upgrade) {
        this.malformedResponse(conn, 'unrequested 101 Switching Protocols');
        return -1;
      }
      this.finalHead(h);
      return r;
    }
  }

  private finalHead(h: ResponseHead): void {
    this.status = h.statusCode;
    this.ttfb = performance.now() - this.startedAt;
    this.backend?.stats.recordTtfb(performance.now() - this.attemptStartedAt);
    this.responded = true;
    this.responseKeepAlive = h.keepAlive;
    if (this.debugHeaders !== null) this.debugHeaders.responseHeaders = headerObject(h);
    if (h.switchingProtocols) {
      this.tunnel = true;
      this.responseFramer = closeDelimited;
    } else if (h.bodyKind === Body.FIXED) {
      this.fixedResponse.reset(h.contentLength);
      this.responseFramer = this.fixedResponse;
    } else if (h.bodyKind === Body.CHUNKED) {
      this.chunkedResponse.reset();
      this.responseFramer = this.chunkedResponse;
    } else if (h.bodyKind === Body.CLOSE) {
      this.responseFramer = closeDelimited;
    } else {
      this.fixedResponse.reset(0);
      this.responseFramer = this.fixedResponse;
    }
    this.clientClose = !this.keepAliveClient || h.bodyKind === Body.CLOSE || this.client.host.draining;
    this.client.socket.cork();
    this.client.socket.write(clientResponseHead(h, this.clientClose), 'latin1');
    if (this.tunnel) {
      // Bytes the client sent right behind its handshake belong to the tunnel.
      const early = this.client.takePending();
      if (early !== null) this.requestBody(early);
    }
  }

  private relayBody(conn: UpstreamConnection, data: Buffer, pos: number, end: number): boolean {
    if (this.tunnel) return pos < end ? this.toClient(data, pos, end) : true;
    const framer = this.responseFramer!;
    const k = pos < end ? framer.feed(data, pos, end) : 0;
    if (k < 0) {
      // The backend broke its own chunked framing mid-body: the client must see a broken response.
      this.brokenResponse(conn, new ProxyError('UPSTREAM_MALFORMED', 'malformed chunked response body'), false);
      return false;
    }
    let flowing = true;
    if (k > 0) flowing = this.toClient(data, pos, pos + k);
    if (framer.done) this.responseComplete(pos + k < end);
    return flowing;
  }

  private toClient(data: Buffer, from: number, to: number): boolean {
    this.tx += to - from;
    const ok = this.client.socket.write(from === 0 && to === data.length ? data : data.subarray(from, to));
    if (!ok) this.downloadPaused = true;
    return ok;
  }

  clientDrained(): void {
    if (!this.downloadPaused) return;
    this.downloadPaused = false;
    this.conn?.socket.resume();
  }

  private responseComplete(extraBytes: boolean): void {
    const conn = this.conn!;
    // Reuse only a connection whose exchange ended cleanly on both sides.
    const reusable = this.responseKeepAlive && this.requestDone && !extraBytes && this.versionMinor === 1 && !this.tunnel;
    this.conn = null;
    if (reusable) conn.release();
    else conn.destroy();
    this.finishAttempt(false);
    this.finish(this.clientClose || !this.requestDone);
  }

  onUpstreamClose(conn: UpstreamConnection, err: (Error & { code?: string }) | null): void {
    if (conn !== this.conn) return;
    this.clearConnectTimer();
    if (this.tunnel) {
      this.conn = null;
      this.finishAttempt(false);
      this.finish(true);
      return;
    }
    if (this.responseFramer !== null) {
      if (this.responseFramer === closeDelimited && err === null) this.responseComplete(false);
      else this.brokenResponse(conn, new ProxyError('UPSTREAM_BODY_BROKEN', err === null ? 'backend closed the response early' : upstreamSocketError(err, true).message, err?.code), true);
      return;
    }
    this.failedBeforeResponse(conn, err);
  }

  private failedBeforeResponse(conn: UpstreamConnection, err: (Error & { code?: string }) | null): void {
    const b = this.backend!;
    const error = upstreamSocketError(err, conn.connected);
    const decision = decideRetry({ method: this.method, bodySent: this.bodySent, reused: conn.reused, error: error.code });
    this.conn = null;
    this.lastError = error;
    if (decision.unhealthy) this.ctx.upstreams.requestFailed(b, error.message);
    this.finishAttempt(true);
    if (decision.again && !this.staleRetried) {
      // A reconnect to the same backend, not a retry: it does not spend the retry budget.
      this.staleRetried = true;
      this.attempts--;
      this.attempt(b);
      return;
    }
    if ((decision.elsewhere || decision.again) && this.attempts < this.ctx.maxAttempts) {
      b.stats.recordRetry();
      (this.tried ??= []).push(b);
      this.attempt();
      return;
    }
    this.replyError(errorAnswer(error, this.path));
  }

  private malformedResponse(conn: UpstreamConnection, why: string): void {
    this.conn = null;
    conn.destroy();
    this.lastError = new ProxyError('UPSTREAM_MALFORMED', `malformed response from backend: ${why}`);
    this.finishAttempt(true);
    this.replyError(errorAnswer(this.lastError, this.path));
  }

  /** The response head went out but its body did not finish: the client connection must break. */
  private brokenResponse(conn: UpstreamConnection, why: ProxyError, transport: boolean): void {
    this.conn = null;
    conn.destroy();
    this.lastError = why;
    if (transport) this.ctx.upstreams.requestFailed(this.backend!, why.message);
    this.finishAttempt(true);
    this.active = false;
    this.trace();
    this.client.socket.destroy();
  }

  private replyError(r: LocalResponse): void {
    this.status = r.status;
    if (this.responded) {
      this.active = false;
      this.trace();
      this.client.socket.destroy();
      return;
    }
    this.responded = true;
    const close = !this.requestDone || !this.keepAliveClient || this.client.host.draining;
    this.client.writeLocal(r, close);
    this.finish(close);
  }

  private abortRequest(status: number, message: string): void {
    this.clearConnectTimer();
    this.conn?.destroy();
    this.conn = null;
    if (this.backend !== null) this.finishAttempt(false);
    this.requestDone = false;
    this.replyError(plainResponse(status, message));
  }

  private finishAttempt(failed: boolean): void {
    const b = this.backend;
    if (b === null) return;
    this.backend = null;
    endAttempt(b, this.attemptStartedAt, this.bodyBytesIn(), this.bodyBytesOut(), failed || this.status >= 500);
  }

  private finish(close: boolean): void {
    this.active = false;
    this.trace();
    this.client.requestDone(close);
  }

  // ---- client events ----

  /**
   * The client sent FIN. Before the answer started, that is a half-close: it still gets its
   * answer. In the middle of its own body, or once the answer is streaming, it is a client
   * leaving (as Go's and Node's servers read it), so an idle stream is not held open for nobody.
   * In a tunnel the FIN is passed on.
   */
  clientEnded(): void {
    if (!this.active) return;
    if (this.tunnel) {
      this.conn?.socket.end();
      return;
    }
    if (!this.requestDone || this.responded) {
      this.clientClosed();
      this.client.socket.destroy();
    }
  }

  clientClosed(): void {
    if (!this.active) return;
    this.active = false;
    this.clearConnectTimer();
    const conn = this.conn;
    this.conn = null;
    conn?.destroy();
    // The client's own cancellation never counts against the backend.
    this.finishAttempt(false);
    if (this.status === 0) this.lastError = new ProxyError('CLIENT_CLOSED', 'client closed the connection');
    this.trace();
  }

  /** Body bytes as the application sees them: chunk framing is not counted (as sidekick counts). */
  private bodyBytesIn(): number {
    return this.requestFramer === this.chunkedRequest ? this.chunkedRequest.dataBytes : this.rx;
  }

  private bodyBytesOut(): number {
    return this.responseFramer === this.chunkedResponse ? this.chunkedResponse.dataBytes : this.tx;
  }

  private trace(): void {
    traceExchange(this.ctx.console, {
      backend: this.lastBackend, method: this.method, path: this.path, client: this.client.clientIp, status: this.status,
      startedWall: this.startedWall, startedAt: this.startedAt, ttfbMs: this.ttfb, rx: this.bodyBytesIn(), tx: this.bodyBytesOut(), error: this.lastError?.message,
    }, this.debugHeaders === null ? undefined : this.debugHeaders);
  }
}
