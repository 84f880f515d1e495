import type { Readable } from 'node:stream';
import type { Backend } from '../upstream/backend.js';
import { errorAnswer, noBackendLeft, plainResponse } from './error-response.js';
import { ProxyError, upstreamSocketError } from './errors.js';
import { decideRetry, replayable } from './retry.js';
import { attemptsAllowed, type ProxyContext } from './context.js';
import { beginAttempt, endAttempt } from './attempts.js';
import { UpstreamPool, type UpstreamConnection, type UpstreamOwner } from './raw/upstream-pool.js';
import type { ProxyRequest } from './request.js';
import { BODY_MALFORMED, RequestBody } from './request-body.js';
import { ResponseRelay, type RelayOwner } from './response-relay.js';
import type { Answer, BodyTap, Downstream, DownstreamEvents } from './pipeline.js';
import { sendAnswer } from './answers.js';
import { UpstreamWatchdog, type WatchdogOwner } from './watchdog.js';
import { RequestFilterRun, type FilterRunOwner } from './request-filters.js';
import { reportRequest } from './request-report.js';

/**
 * A request that cannot be sent twice does not go onto a pooled connection idle longer than
 * this: such a connection is the one a backend's keep-alive timeout may be closing right now
 * (Node servers close after 5 s), and losing that race would cost the client a 502.
 */
const MAX_IDLE_FOR_UNREPLAYABLE_MS = 1_000;

function poolOf(b: Backend): UpstreamPool {
  return (b.pool ??= new UpstreamPool(b)) as UpstreamPool;
}

/**
 * The forwarding core, the same for HTTP/1.1 and HTTP/2 clients. It runs a request's phases
 * (pipeline.ts): request filters (request-filters.ts), pick, upstream attempts with the retry
 * policy (retry.ts), then hands the response to its ResponseRelay (head filters, body relay and
 * taps) and ends with the report (request-report.ts: trace, done filters). The request body goes
 * through its RequestBody. One instance
 * serves one client connection's requests in turn (HTTP/1.1) or one stream (HTTP/2); a request's
 * own state is its ProxyRequest.
 */
export class Forwarder implements UpstreamOwner, DownstreamEvents, RelayOwner, WatchdogOwner, FilterRunOwner {
  private readonly ctx: ProxyContext;
  private down: Downstream;
  private readonly body: RequestBody;
  private readonly relay: ResponseRelay;
  private readonly watchdog: UpstreamWatchdog;
  private readonly filterRun: RequestFilterRun;

  /** The request in progress; null between requests. */
  req: ProxyRequest | null = null;
  private upgrade = false;
  private backend: Backend | null = null;
  private conn: UpstreamConnection | null = null;
  private attemptStartedAt = 0;
  private connectTimer: NodeJS.Timeout | null = null;
  /** The body of a stream Answer being sent. */
  private answerStream: Readable | null = null;

  constructor(ctx: ProxyContext, down: Downstream) {
    this.ctx = ctx;
    this.down = down;
    this.body = new RequestBody(down);
    this.relay = new ResponseRelay(ctx.filters, down, this, this.resumeUpstream);
    this.watchdog = new UpstreamWatchdog(ctx.responseTimeoutMs, ctx.readTimeoutMs, this);
    this.filterRun = new RequestFilterRun(ctx.filters, this);
  }

  /**
   * Starts a request. `bodyKind`/`contentLength` describe the client's body: for HTTP/1.1 its
   * framing on the wire; for HTTP/2, FIXED with a Content-Length, CHUNKED (sent upstream chunked)
   * without one, NONE when the stream ended with its headers. `upgrade`: pass an Upgrade on.
   */
  start(req: ProxyRequest, bodyKind: number, contentLength: number, upgrade: boolean): void {
    this.req = req;
    this.upgrade = upgrade;
    this.body.start(bodyKind, contentLength);
    if (!this.body.done && this.ctx.filters.requestBody.length > 0) this.tapBody(req);
    this.filterRun.run(req);
  }

  /** Phase 2: taps on the request body (the mirror's copy), set up before any byte of it is read. */
  private tapBody(req: ProxyRequest): void {
    let taps: BodyTap[] | null = null;
    for (const f of this.ctx.filters.requestBody) {
      const tap = f.requestBody!(req);
      if (tap !== null) (taps ??= []).push(tap);
    }
    if (taps !== null) this.body.tap(taps);
  }

  /**
   * Serve another client from now on (a spare forwarder taken by a new connection or stream). Only
   * called while idle: nothing of the last request can still reach the old Downstream.
   */
  serve(down: Downstream): void {
    this.down = down;
    this.body.down = down;
    this.relay.down = down;
  }

  /** Set aside idle: drop references to read buffers (a backend's read buffer may be 1 MiB). */
  forgetBuffers(): void {
    this.relay.forgetBuffer();
  }

  /** No request in progress and nothing of the last one still running: another may start. */
  get idle(): boolean {
    return this.req === null && this.conn === null && this.answerStream === null && this.connectTimer === null;
  }

  // ---- phase 2: request filters ----

  filterAnswered(a: Answer): void {
    this.answer(a);
  }

  filterFailed(err: ProxyError): void {
    this.req!.error = err;
    this.answer(errorAnswer(err, this.req!.target));
  }

  filtersPassed(): void {
    if (this.ctx.startup.open) this.attempt();
    else void this.ctx.startup.wait().then(this.afterStartup);
  }

  private readonly afterStartup = (): void => {
    if (this.req !== null && !this.req.responded && this.conn === null) this.attempt();
  };

  // ---- request body ----

  /** Bytes from the client while this request is active; returns how many belong to it. */
  requestData(chunk: Buffer): number {
    const req = this.req;
    if (req === null) return 0;
    if (this.relay.tunnel) {
      req.rx += chunk.length;
      if (this.conn !== null && !this.conn.write(chunk)) this.body.pause();
      return chunk.length;
    }
    const n = this.body.data(chunk);
    this.watchdog.read();
    if (n === BODY_MALFORMED) {
      this.abortRequest(400, 'malformed chunked request body');
      return chunk.length;
    }
    req.rx += n;
    if (this.body.done) this.requestOnWire();
    return n;
  }

  /** HTTP/2: the client's body ended. */
  requestEnd(trailers: readonly string[] | null): void {
    if (this.req === null) return;
    if (!this.body.end(trailers)) this.abortRequest(400, 'request body shorter than its Content-Length');
    else this.requestOnWire();
  }

  /** The response clock starts once the whole request went to an open connection. */
  private requestOnWire(): void {
    if (this.body.done && this.conn !== null && this.conn.connected) this.watchdog.requestSent();
  }

  // ---- phases 3 and 4: pick, upstream attempt ----

  /** One attempt; `fresh` sends to that backend on a new connection (after a stale pooled one). */
  private attempt(fresh: Backend | null = null): void {
    const req = this.req!;
    const b = fresh ?? this.ctx.chooser.pick(req, req.tried);
    if (b === null) {
      this.answerFailure(req.error ?? new ProxyError('NO_BACKEND', 'no backend is ready'), noBackendLeft(req.error, req.target));
      return;
    }
    req.attempts++;
    this.backend = req.backend = b;
    req.lastBackend = b.url;
    beginAttempt(b);
    this.attemptStartedAt = performance.now();
    this.relay.start(req, this.upgrade);
    this.watchdog.start();
    // A request that cannot be sent twice avoids the connections a backend may be closing.
    const maxIdle = replayable(req.method, req.hasBody) ? 0 : MAX_IDLE_FOR_UNREPLAYABLE_MS;
    const conn = poolOf(b).acquire(this, fresh !== null, maxIdle);
    this.conn = conn;
    conn.write(req.upstreamHead(b));
    this.body.attach(conn);
    this.requestOnWire();
    if (!conn.connected) this.connectTimer = setTimeout(this.onConnectTimeout, this.ctx.connectTimeoutMs);
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

  /** Ends the current attempt's hold on its connection: pooled again when `reuse`, else closed. */
  private dropConnection(reuse: boolean): void {
    const conn = this.conn;
    if (conn === null) return;
    this.conn = null;
    this.body.detach();
    if (reuse) conn.release();
    else conn.destroy();
  }

  onUpstreamConnect(conn: UpstreamConnection): void {
    if (conn !== this.conn) return;
    this.clearConnectTimer();
    this.body.connected();
    this.requestOnWire();
  }

  onUpstreamDrain(conn: UpstreamConnection): void {
    if (conn !== this.conn) return;
    this.watchdog.read();
    this.body.upstreamDrained();
  }

  onUpstreamData(conn: UpstreamConnection, buf: Buffer, n: number): boolean {
    if (conn !== this.conn) return true;
    this.watchdog.read();
    return this.relay.data(conn, buf, n);
  }

  /** A 101 went out for the current request: the connection is a tunnel now. */
  get inTunnel(): boolean {
    return this.req !== null && this.relay.tunnel;
  }

  get waitingOnClient(): boolean {
    return this.relay.waitingOnClient;
  }

  get uploading(): boolean {
    return !this.body.done;
  }

  upstreamTimedOut(phase: 'head' | 'body' | 'upload'): void {
    const conn = this.conn;
    if (conn === null || this.req === null) return;
    if (phase === 'upload') {
      this.uploadStalled(conn);
    } else if (phase === 'head') {
      this.failedBeforeResponse(conn, new ProxyError('UPSTREAM_TIMEOUT', `no response within ${this.watchdog.responseMs} ms`));
    } else {
      this.broken(conn, new ProxyError('UPSTREAM_TIMEOUT', `response body stalled for ${this.watchdog.readMs} ms`), true);
    }
  }

  /**
   * No body bytes for --read-timeout. Held back by us (the backend is not reading it): the
   * backend's fault, 504. Else the client stopped sending: 408, and the connection closes (the
   * rest of its body would be read as a next request).
   */
  private uploadStalled(conn: UpstreamConnection): void {
    const ms = this.watchdog.readMs;
    if (this.body.heldBack) {
      this.failedBeforeResponse(conn, new ProxyError('UPSTREAM_TIMEOUT', `backend took no request body bytes for ${ms} ms`));
      return;
    }
    const why = `request body stalled for ${ms} ms`;
    this.req!.error = new ProxyError('CLIENT_TIMEOUT', why);
    this.abortRequest(408, why);
  }

  // ---- phases 5 and 6, reported by the relay ----

  headArrived(): void {
    this.watchdog.headSeen();
    const req = this.req!;
    req.ttfb = performance.now() - req.startedAt;
    this.backend?.stats.recordTtfb(performance.now() - this.attemptStartedAt);
  }

  headReplaced(_conn: UpstreamConnection, a: Answer): void {
    this.dropConnection(false);
    this.finishAttempt(false);
    this.answer(a);
  }

  tunnelOpened(early: Buffer | null): void {
    if (early !== null) this.requestData(early);
  }

  complete(_conn: UpstreamConnection, extraBytes: boolean): void {
    // Reuse only a connection whose exchange ended cleanly on both sides.
    const relay = this.relay;
    const clientGone = relay.clientGone; // finish() resets the relay
    this.dropConnection(relay.keepAlive && this.body.done && !extraBytes && !relay.tunnel);
    this.finishAttempt(false);
    relay.finishBody();
    this.finish();
    if (!clientGone) this.down.end(this.body.done);
  }

  clientDrained(): void {
    this.answerStream?.resume();
    if (this.relay.clientDrained()) {
      this.watchdog.read();
      this.resumeUpstream();
    }
  }

  private readonly resumeUpstream = (): void => {
    this.conn?.socket.resume();
  };

  // ---- failures ----

  onUpstreamClose(conn: UpstreamConnection, err: (Error & { code?: string }) | null): void {
    if (conn !== this.conn) return;
    this.clearConnectTimer();
    if (this.relay.tunnel) {
      this.dropConnection(false);
      this.finishAttempt(false);
      this.finish();
      this.down.end(false);
      return;
    }
    if (this.relay.started) {
      if (this.relay.endsAtClose && err === null) this.complete(conn, false);
      else this.broken(conn, new ProxyError('UPSTREAM_BODY_BROKEN', err === null ? 'backend closed the response early' : upstreamSocketError(err, true).message, err?.code), true);
      return;
    }
    this.failedBeforeResponse(conn, err);
  }

  private failedBeforeResponse(conn: UpstreamConnection, err: (Error & { code?: string }) | null): void {
    const req = this.req!;
    const b = this.backend!;
    const error = upstreamSocketError(err, conn.connected);
    const decision = decideRetry({ method: req.method, bodySent: this.body.sent, reused: conn.reused, error: error.code });
    this.dropConnection(false);
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
    this.answerFailure(error, errorAnswer(error, req.target));
  }

  malformed(_conn: UpstreamConnection, why: string): void {
    const req = this.req!;
    this.dropConnection(false);
    req.error = new ProxyError('UPSTREAM_MALFORMED', `malformed response from backend: ${why}`);
    this.finishAttempt(true);
    this.answerFailure(req.error, errorAnswer(req.error, req.target));
  }

  /** The response head went out but its body did not finish: the client must see it broken. */
  broken(_conn: UpstreamConnection, why: ProxyError, transport: boolean): void {
    const req = this.req!;
    const clientGone = this.relay.clientGone; // finish() resets the relay
    this.dropConnection(false);
    req.error = why;
    if (transport) this.ctx.upstreams.requestFailed(this.backend!, why.message);
    this.finishAttempt(true);
    this.relay.abortTaps(why);
    this.finish();
    if (!clientGone) this.down.abort();
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
    this.answerStream = sendAnswer(this.down, a, this.body.done, this.onAnswerSent, req.method === 'HEAD');
  }

  /** No response came: a failure filter may answer instead (a stale stored response), else `fallback`. */
  private answerFailure(err: ProxyError, fallback: Answer): void {
    const req = this.req!;
    for (const f of this.ctx.filters.failed) {
      const instead = f.failed!(req, err);
      if (instead !== null) {
        this.answer(instead);
        return;
      }
    }
    this.answer(fallback);
  }

  private readonly onAnswerSent = (complete: boolean): void => {
    this.answerStream = null;
    if (this.req === null) return;
    this.finish();
    if (complete) this.down.end(this.body.done);
    else this.down.abort();
  };

  private abortRequest(status: number, message: string): void {
    this.clearConnectTimer();
    this.dropConnection(false);
    if (this.backend !== null) this.finishAttempt(false);
    this.body.done = false;
    this.answer(plainResponse(status, message));
  }

  private finishAttempt(failed: boolean): void {
    this.watchdog.stop();
    const b = this.backend;
    if (b === null) return;
    this.backend = null;
    const req = this.req!;
    endAttempt(b, this.attemptStartedAt, this.body.dataBytes(req.rx), this.relay.dataBytes(req.tx), failed || req.status >= 500);
  }

  /** Phase 7: the request is over (the downstream is told how right after). */
  private finish(): void {
    const req = this.req;
    if (req === null) return;
    this.req = null;
    this.relay.reset();
    // A body not read to its end (answered before it, a client that left) is no whole body.
    if (this.body.tapped) this.body.endTaps(req.error ?? new ProxyError('CLIENT_CLOSED', 'request body not read to its end'));
    req.rx = this.body.dataBytes(req.rx);
    req.tx = this.relay.dataBytes(req.tx);
    reportRequest(this.ctx, req);
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
    if (this.relay.tunnel) {
      this.conn?.socket.end();
      return;
    }
    if (!this.body.done || req.responded) {
      this.clientClosed();
      this.down.abort();
    }
  }

  clientClosed(): void {
    const req = this.req;
    if (req === null || this.relay.clientGone) return;
    this.clearConnectTimer();
    const left = new ProxyError('CLIENT_CLOSED', 'client closed the connection');
    if (this.conn !== null && this.body.done && this.relay.clientLeft(left)) {
      // A body tap (the cache's fill) wants the rest: the response is read for it alone and the request ends with it.
      if (!this.relay.waitingOnClient) this.resumeUpstream();
      return;
    }
    this.dropConnection(false);
    // The client's own cancellation never counts against the backend.
    this.finishAttempt(false);
    const stream = this.answerStream;
    this.answerStream = null;
    stream?.destroy();
    if (req.status === 0) req.error = left;
    this.relay.abortTaps(left);
    this.finish();
  }
}
