import type { Readable } from 'node:stream';
import {
  Body, ChunkedWalker, CloseDelimitedBody, FixedLengthBody, ResponseHeadParser,
  type BodyFramer, type ResponseHead, type SpanSink,
} from '../http1/index.js';
import type { Backend } from '../upstream/backend.js';
import { errorAnswer, noBackendLeft, plainResponse } from './error-response.js';
import { ProxyError, upstreamSocketError } from './errors.js';
import { decideRetry, replayable } from './retry.js';
import { attemptsAllowed, type ProxyContext } from './context.js';
import { beginAttempt, endAttempt, traceExchange } from './attempts.js';
import { MAX_RESPONSE_HEAD_BYTES, backendAuthority, headerObject } from './header-rules.js';
import { UpstreamPool, type UpstreamConnection, type UpstreamOwner } from './raw/upstream-pool.js';
import type { ProxyRequest } from './request.js';
import { ResponsePhases } from './response-phases.js';
import type { Answer, Downstream, DownstreamEvents } from './pipeline.js';
import { sendAnswer } from './answers.js';

/** Body bytes held while the upstream connection opens (or a filter decides), before the client is paused. */
const HOLD_LIMIT = 256 * 1024;
const PARSE_NEED_MORE = -1;
/**
 * A request that cannot be sent twice does not go onto a pooled connection idle longer than
 * this: such a connection is the one a backend's keep-alive timeout may be closing right now
 * (Node servers close after 5 s), and losing that race would cost the client a 502.
 */
const MAX_IDLE_FOR_UNREPLAYABLE_MS = 1_000;

const closeDelimited = new CloseDelimitedBody();

function poolOf(b: Backend): UpstreamPool {
  return (b.pool ??= new UpstreamPool(b)) as UpstreamPool;
}

/**
 * The forwarding core, the same for HTTP/1.1 and HTTP/2 clients: runs a request's phases (filters,
 * pick, upstream attempts with retries, response head, body relay, done) and writes the response
 * to a Downstream. One instance serves one client connection's requests in turn (HTTP/1.1) or
 * one stream (HTTP/2); a request's own state is its ProxyRequest. Bytes are relayed as they
 * come (HTTP/1.1 to HTTP/1.1: the original framing, no copy); HTTP/2 clients and body taps get
 * data spans from the framers.
 */
export class Forwarder implements UpstreamOwner, DownstreamEvents, SpanSink {
  private readonly ctx: ProxyContext;
  private readonly down: Downstream;
  private readonly responseParser = new ResponseHeadParser({ maxHeadSize: MAX_RESPONSE_HEAD_BYTES });
  private readonly fixedRequest = new FixedLengthBody(0);
  private readonly chunkedRequest = new ChunkedWalker({ side: 'request' });
  private readonly fixedResponse = new FixedLengthBody(0);
  private readonly chunkedResponse: ChunkedWalker;
  /** Response head and body filters of the current response (none: nothing allocated). */
  private readonly phases: ResponsePhases;

  /** The request in progress; null between requests. */
  req: ProxyRequest | null = null;
  private requestFramer: BodyFramer | null = null;
  /** An HTTP/2 body without Content-Length: each DATA chunk goes upstream as one HTTP/1.1 chunk. */
  private chunkUpstream = false;
  private requestDone = true;
  private held: (Buffer | string)[] | null = null;
  private heldBytes = 0;
  private upgrade = false;
  private tunnel = false;
  private backend: Backend | null = null;
  private conn: UpstreamConnection | null = null;
  private attemptStartedAt = 0;
  private connectTimer: NodeJS.Timeout | null = null;
  private responsePending: Buffer | null = null;
  private responseFramer: BodyFramer | null = null;
  private responseKeepAlive = false;
  /** Relay body bytes as received (HTTP/1.1 client, no tap) rather than as data spans. */
  private rawRelay = true;
  private uploadPaused = false;
  private downloadPaused = false;
  /** The client accepted every span of the current read. */
  private spansFlowing = true;
  /** Index of the request filter whose promise is pending. */
  private filterAt = 0;
  /** The body of a stream Answer being sent. */
  private answerStream: Readable | null = null;

  constructor(ctx: ProxyContext, down: Downstream) {
    this.ctx = ctx;
    this.down = down;
    // Trailers are kept (they are rare and small) for HTTP/2 clients and body taps.
    this.chunkedResponse = new ChunkedWalker({ side: 'response', collectTrailers: true });
    this.phases = new ResponsePhases(ctx.filters, this.onTapResume);
  }

  /**
   * Starts a request. `bodyKind`/`contentLength` describe the client's body: for HTTP/1.1 its
   * framing on the wire; for HTTP/2, FIXED with a Content-Length, CHUNKED (sent upstream chunked)
   * without one, NONE when the stream ended with its headers. `upgrade`: pass an Upgrade on.
   */
  start(req: ProxyRequest, bodyKind: number, contentLength: number, upgrade: boolean): void {
    this.req = req;
    this.requestFramer = null;
    this.chunkUpstream = false;
    if (bodyKind === Body.CHUNKED) {
      if (this.down.rawFraming) {
        this.chunkedRequest.reset();
        this.requestFramer = this.chunkedRequest;
      } else {
        this.chunkUpstream = true;
      }
    } else if (bodyKind === Body.FIXED && contentLength > 0) {
      this.fixedRequest.reset(contentLength);
      this.requestFramer = this.fixedRequest;
    }
    this.requestDone = this.requestFramer === null && !this.chunkUpstream;
    this.upgrade = upgrade;
    this.held = null;
    this.heldBytes = 0;
    this.tunnel = this.uploadPaused = this.downloadPaused = false;
    this.runRequestFilters(0);
  }

  // ---- phase 2: request filters ----

  private runRequestFilters(from: number): void {
    const req = this.req!;
    const filters = this.ctx.filters.request;
    for (let i = from; i < filters.length; i++) {
      const r = filters[i]!.request!(req, req);
      if (r === null) continue;
      this.filterAt = i;
      if (r instanceof Promise) {
        r.then(this.onFilterDecided, this.onFilterFailed);
        return;
      }
      req.answeredBy = filters[i]!;
      this.answer(r);
      return;
    }
    if (this.ctx.startup.open) this.attempt();
    else void this.ctx.startup.wait().then(this.afterStartup);
  }

  private readonly onFilterDecided = (r: Answer | null): void => {
    if (this.req === null || this.req.responded) return;
    if (r === null) {
      this.runRequestFilters(this.filterAt + 1);
      return;
    }
    this.req.answeredBy = this.ctx.filters.request[this.filterAt]!;
    this.answer(r);
  };

  private readonly onFilterFailed = (err: unknown): void => {
    if (this.req === null || this.req.responded) return;
    this.req.error = new ProxyError('INTERNAL', `filter ${this.ctx.filters.request[this.filterAt]!.name} failed: ${String(err)}`);
    this.answer(errorAnswer(this.req.error, this.req.target));
  };

  private readonly afterStartup = (): void => {
    if (this.req !== null && !this.req.responded && this.conn === null) this.attempt();
  };

  // ---- request side ----

  /** Bytes from the client while this request is active; returns how many belong to it. */
  requestData(chunk: Buffer): number {
    const req = this.req;
    if (req === null) return 0;
    if (this.tunnel) {
      req.rx += chunk.length;
      if (this.conn !== null && !this.conn.write(chunk)) this.pauseUpload();
      return chunk.length;
    }
    if (this.requestDone) return 0;
    if (this.chunkUpstream) {
      if (chunk.length === 0) return 0;
      req.rx += chunk.length;
      this.sendBody(`${chunk.length.toString(16)}\r\n`);
      this.sendBody(chunk);
      this.sendBody('\r\n');
      return chunk.length;
    }
    const framer = this.requestFramer!;
    const n = framer.feed(chunk, 0, chunk.length);
    if (n < 0) {
      this.abortRequest(400, 'malformed chunked request body');
      return chunk.length;
    }
    if (n > 0) {
      req.rx += n;
      this.sendBody(n === chunk.length ? chunk : chunk.subarray(0, n));
    }
    if (framer.done) this.requestDone = true;
    return n;
  }

  /** HTTP/2: the client's body ended. A chunked upstream body gets its last chunk and trailers. */
  requestEnd(trailers: readonly string[] | null): void {
    if (this.req === null || this.requestDone) return;
    if (!this.chunkUpstream && this.requestFramer !== null && !this.requestFramer.done) {
      this.abortRequest(400, 'request body shorter than its Content-Length');
      return;
    }
    if (this.chunkUpstream) {
      let last = '0\r\n';
      if (trailers !== null) for (let i = 0; i < trailers.length; i += 2) last += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
      this.sendBody(`${last}\r\n`);
    }
    this.requestDone = true;
  }

  private sendBody(part: Buffer | string): void {
    const conn = this.conn;
    if (conn !== null && conn.connected && this.held === null) {
      this.req!.bodySent = true;
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
    this.req!.bodySent = true;
    let ok = true;
    for (const part of held) ok = conn.write(part);
    if (ok && this.uploadPaused) this.resumeUpload();
  }

  private pauseUpload(): void {
    this.uploadPaused = true;
    this.down.pauseRequest();
  }

  private resumeUpload(): void {
    this.uploadPaused = false;
    this.down.resumeRequest();
  }

  // ---- phases 3 and 4: pick, upstream attempt ----

  /** One attempt; `fresh` sends to that backend on a new connection (after a stale pooled one). */
  private attempt(fresh: Backend | null = null): void {
    const req = this.req!;
    const b = fresh ?? this.ctx.chooser.pick(req, req.tried);
    if (b === null) {
      this.answer(noBackendLeft(req.error, req.target));
      return;
    }
    req.attempts++;
    this.backend = b;
    req.backend = b;
    req.lastBackend = b.url;
    beginAttempt(b);
    this.attemptStartedAt = performance.now();
    this.responseParser.reset();
    this.responsePending = null;
    this.responseFramer = null;
    // A request that cannot be sent twice avoids the connections a backend may be closing.
    const maxIdle = replayable(req.method, req.hasBody) ? 0 : MAX_IDLE_FOR_UNREPLAYABLE_MS;
    const conn = poolOf(b).acquire(this, fresh !== null, maxIdle);
    this.conn = conn;
    const host = req.hostMissing ? `Host: ${backendAuthority(b.spec)}\r\n` : '';
    conn.write(`${req.method} ${b.spec.basePath}${req.upstreamTarget} HTTP/1.${req.versionMinor}\r\n${host}${req.headerBlock}\r\n`);
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

  // ---- phase 5: response head ----

  onUpstreamData(conn: UpstreamConnection, buf: Buffer, n: number): boolean {
    if (conn !== this.conn) return true;
    const req = this.req!;
    let data = buf;
    let pos = 0;
    let end = n;
    if (this.responseFramer === null) {
      if (this.responsePending !== null) {
        data = Buffer.concat([this.responsePending, buf.subarray(0, n)]);
        end = data.length;
        this.responsePending = null;
      }
      pos = this.readHeads(conn, data, end);
      if (pos < 0) return true;
    }
    const flowing = this.relayBody(conn, data, pos, end) || req !== this.req || conn !== this.conn;
    this.down.flush();
    // A write that did not complete at once still points into the read buffer: read elsewhere next.
    if (data === buf && this.down.holdsData) conn.retainReadBuffer();
    return flowing;
  }

  /** Parses response heads (interim ones included); returns where the body starts, or -1. */
  private readHeads(conn: UpstreamConnection, data: Buffer, end: number): number {
    let pos = 0;
    for (;;) {
      const r = this.responseParser.parse(end === data.length ? data : data.subarray(0, end), pos, this.req!.method);
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
        if (h.statusCode === 100 || h.statusCode === 103) this.down.interim(h);
        pos = r;
        continue;
      }
      if (h.switchingProtocols && !this.upgrade) {
        this.malformedResponse(conn, 'unrequested 101 Switching Protocols');
        return -1;
      }
      return this.finalHead(conn, h) ? r : -1;
    }
  }

  /** The final head: filters may replace it; else it goes to the client. False when the body must not be read. */
  private finalHead(conn: UpstreamConnection, h: ResponseHead): boolean {
    const req = this.req!;
    req.ttfb = performance.now() - req.startedAt;
    this.backend?.stats.recordTtfb(performance.now() - this.attemptStartedAt);
    const replacement = this.phases.head(req, h);
    if (replacement !== null) {
      this.conn = null;
      conn.destroy();
      this.finishAttempt(false);
      this.answer(replacement);
      return false;
    }
    req.status = h.statusCode;
    req.responded = true;
    this.responseKeepAlive = h.keepAlive;
    if (req.debugHeaders !== null) req.debugHeaders.responseHeaders = headerObject(h);
    this.responseFramer = this.framerFor(h);
    this.rawRelay = this.down.rawFraming && !this.phases.tapping;
    this.chunkedResponse.sink = this.rawRelay ? null : this;
    this.chunkedResponse.collect = !this.rawRelay;
    if (!this.down.relayHead(h)) {
      this.brokenResponse(conn, new ProxyError('UPSTREAM_MALFORMED', 'response head the client protocol cannot carry'), false);
      return false;
    }
    if (this.tunnel) {
      // Bytes the client sent right behind its handshake belong to the tunnel.
      const early = this.down.upgraded();
      if (early !== null) this.requestData(early);
    }
    return true;
  }

  private framerFor(h: ResponseHead): BodyFramer {
    if (h.switchingProtocols) {
      this.tunnel = true;
      return closeDelimited;
    }
    if (h.bodyKind === Body.FIXED) {
      this.fixedResponse.reset(h.contentLength);
      return this.fixedResponse;
    }
    if (h.bodyKind === Body.CHUNKED) {
      this.chunkedResponse.reset();
      return this.chunkedResponse;
    }
    if (h.bodyKind === Body.CLOSE) return closeDelimited;
    this.fixedResponse.reset(0);
    return this.fixedResponse;
  }

  // ---- phase 6: body ----

  private relayBody(conn: UpstreamConnection, data: Buffer, pos: number, end: number): boolean {
    if (this.tunnel) return pos < end ? this.toClient(data, pos, end) : true;
    const framer = this.responseFramer!;
    this.spansFlowing = true;
    const k = pos < end ? framer.feed(data, pos, end) : 0;
    if (k < 0) {
      // The backend broke its own chunked framing mid-body: the client must see a broken response.
      this.brokenResponse(conn, new ProxyError('UPSTREAM_MALFORMED', 'malformed chunked response body'), false);
      return false;
    }
    let flowing = true;
    if (k > 0) {
      if (this.rawRelay) flowing = this.toClient(data, pos, pos + k);
      else {
        if (this.down.rawFraming) flowing = this.toClient(data, pos, pos + k);
        // Chunked bodies reported their spans during feed(); other framings are all data.
        if (framer !== this.chunkedResponse) this.span(data, pos, pos + k);
        flowing &&= this.spansFlowing;
      }
    }
    if (framer.done) this.responseComplete(pos + k < end);
    return flowing;
  }

  /** SpanSink: data bytes of the response, for an HTTP/2 client and for taps. */
  span(buf: Buffer, start: number, end: number): void {
    const req = this.req!;
    if (!this.down.rawFraming) {
      req.tx += end - start;
      if (!this.down.body(start === 0 && end === buf.length ? buf : buf.subarray(start, end))) {
        this.downloadPaused = true;
        this.spansFlowing = false;
      }
    }
    if (this.phases.tapping && !this.phases.data(buf, start, end)) this.spansFlowing = false;
  }

  private toClient(data: Buffer, from: number, to: number): boolean {
    this.req!.tx += to - from;
    const ok = this.down.body(from === 0 && to === data.length ? data : data.subarray(from, to));
    if (!ok) this.downloadPaused = true;
    return ok;
  }

  clientDrained(): void {
    this.answerStream?.resume();
    if (!this.downloadPaused) return;
    this.downloadPaused = false;
    if (!this.phases.paused) this.conn?.socket.resume();
  }

  private readonly onTapResume = (): void => {
    if (!this.downloadPaused) this.conn?.socket.resume();
  };

  private responseComplete(extraBytes: boolean): void {
    const conn = this.conn!;
    // Reuse only a connection whose exchange ended cleanly on both sides.
    const reusable = this.responseKeepAlive && this.requestDone && !extraBytes && this.req!.versionMinor === 1 && !this.tunnel;
    this.conn = null;
    if (reusable) conn.release();
    else conn.destroy();
    this.finishAttempt(false);
    if (this.responseFramer === this.chunkedResponse && !this.down.rawFraming) this.sendTrailers();
    this.phases.end(this.responseFramer === this.chunkedResponse && !this.rawRelay ? this.chunkedResponse.trailers : null);
    this.finish();
    this.down.end(this.requestDone);
  }

  private sendTrailers(): void {
    const t = this.chunkedResponse.trailers;
    if (t === null || t.count === 0) return;
    const fields: string[] = [];
    for (let i = 0; i < t.count; i++) fields.push(t.nameAt(i), t.valueAt(i));
    this.down.trailers(fields);
  }

  // ---- failures ----

  onUpstreamClose(conn: UpstreamConnection, err: (Error & { code?: string }) | null): void {
    if (conn !== this.conn) return;
    this.clearConnectTimer();
    if (this.tunnel) {
      this.conn = null;
      this.finishAttempt(false);
      this.finish();
      this.down.end(false);
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
    const req = this.req!;
    const b = this.backend!;
    const error = upstreamSocketError(err, conn.connected);
    const decision = decideRetry({ method: req.method, bodySent: req.bodySent, reused: conn.reused, error: error.code });
    this.conn = null;
    req.error = error;
    if (decision.unhealthy) this.ctx.upstreams.requestFailed(b, error.message);
    // A stale pooled connection is not an error of the backend's.
    this.finishAttempt(!decision.again);
    if (decision.again && !req.staleRetried) {
      // A reconnect to the same backend, not a retry: it does not spend the retry budget.
      req.staleRetried = true;
      req.attempts--;
      this.attempt(b);
      return;
    }
    if ((decision.elsewhere || decision.again) && req.attempts < attemptsAllowed(this.ctx)) {
      b.stats.recordRetry();
      (req.tried ??= []).push(b);
      this.attempt();
      return;
    }
    this.answer(errorAnswer(error, req.target));
  }

  private malformedResponse(conn: UpstreamConnection, why: string): void {
    const req = this.req!;
    this.conn = null;
    conn.destroy();
    req.error = new ProxyError('UPSTREAM_MALFORMED', `malformed response from backend: ${why}`);
    this.finishAttempt(true);
    this.answer(errorAnswer(req.error, req.target));
  }

  /** The response head went out but its body did not finish: the client must see it broken. */
  private brokenResponse(conn: UpstreamConnection, why: ProxyError, transport: boolean): void {
    const req = this.req!;
    this.conn = null;
    conn.destroy();
    req.error = why;
    if (transport) this.ctx.upstreams.requestFailed(this.backend!, why.message);
    this.finishAttempt(true);
    this.phases.abort(why);
    this.finish();
    this.down.abort();
  }

  /** Phase-2 answers, errors before a response, and answers replacing a backend head. */
  private answer(a: Answer): void {
    const req = this.req!;
    req.status = a.status;
    if (req.responded) {
      this.finish();
      this.down.abort();
      return;
    }
    req.responded = true;
    this.answerStream = sendAnswer(this.down, a, this.requestDone, this.onAnswerSent);
  }

  private readonly onAnswerSent = (complete: boolean): void => {
    this.answerStream = null;
    if (this.req === null) return;
    this.finish();
    if (complete) this.down.end(this.requestDone);
    else this.down.abort();
  };

  private abortRequest(status: number, message: string): void {
    this.clearConnectTimer();
    this.conn?.destroy();
    this.conn = null;
    if (this.backend !== null) this.finishAttempt(false);
    this.requestDone = false;
    this.answer(plainResponse(status, message));
  }

  private finishAttempt(failed: boolean): void {
    const b = this.backend;
    if (b === null) return;
    this.backend = null;
    const req = this.req!;
    endAttempt(b, this.attemptStartedAt, this.bodyBytesIn(), this.bodyBytesOut(), failed || req.status >= 500);
  }

  /** Phase 7: the request is over (the downstream was already told how). */
  private finish(): void {
    const req = this.req;
    if (req === null) return;
    this.req = null;
    this.phases.reset();
    req.rx = this.bodyBytesIn(req.rx);
    req.tx = this.bodyBytesOut(req.tx);
    if (req.answeredBy?.untraced !== true) this.trace(req);
    const done = this.ctx.filters.done;
    for (let i = 0; i < done.length; i++) {
      done[i]!.done!(req, { status: req.status, backend: req.backend, attempts: req.attempts, rxBytes: req.rx, txBytes: req.tx, error: req.error });
    }
  }

  private trace(req: ProxyRequest): void {
    traceExchange(this.ctx.console, {
      backend: req.lastBackend, method: req.method, path: req.target, client: req.clientIp, status: req.status,
      startedWall: req.startedWall, startedAt: req.startedAt, ttfbMs: req.ttfb, rx: req.rx, tx: req.tx, error: req.error?.message,
    }, req.debugHeaders === null ? undefined : req.debugHeaders);
  }

  // ---- client events ----

  /**
   * HTTP/1.1 client sent FIN. Before the answer started, that is a half-close: it still gets its
   * answer. In the middle of its own body, or once the answer is streaming, it is a client
   * leaving (as Go's and Node's servers read it). In a tunnel the FIN is passed on.
   */
  clientEnded(): void {
    const req = this.req;
    if (req === null) return;
    if (this.tunnel) {
      this.conn?.socket.end();
      return;
    }
    if (!this.requestDone || req.responded) {
      this.clientClosed();
      this.down.abort();
    }
  }

  clientClosed(): void {
    const req = this.req;
    if (req === null) return;
    this.clearConnectTimer();
    const conn = this.conn;
    this.conn = null;
    conn?.destroy();
    // The client's own cancellation never counts against the backend.
    this.finishAttempt(false);
    const stream = this.answerStream;
    this.answerStream = null;
    stream?.destroy();
    const left = new ProxyError('CLIENT_CLOSED', 'client closed the connection');
    if (req.status === 0) req.error = left;
    this.phases.abort(left);
    this.finish();
  }

  /** Body bytes as the application sees them: chunk framing is not counted (as sidekick counts). */
  private bodyBytesIn(raw = this.req!.rx): number {
    return this.requestFramer === this.chunkedRequest ? this.chunkedRequest.dataBytes : raw;
  }

  private bodyBytesOut(raw = this.req!.tx): number {
    return this.responseFramer === this.chunkedResponse && this.down.rawFraming ? this.chunkedResponse.dataBytes : raw;
  }
}
