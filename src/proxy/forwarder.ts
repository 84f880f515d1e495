import type { Backend } from '../upstream/backend.js';
import { errorAnswer, noBackendLeft, plainResponse } from './error-response.js';
import { ProxyError } from './errors.js';
import type { ProxyContext } from './context.js';
import type { UpstreamConnection } from './raw/upstream-pool.js';
import type { ProxyRequest } from './request.js';
import { BODY_MALFORMED, RequestBody } from './request-body.js';
import { ResponseRelay, type RelayOwner } from './response-relay.js';
import type { Answer, Downstream, DownstreamEvents } from './pipeline.js';
import { AnswerSender, type AnswerOwner } from './answers.js';
import { UpstreamWatchdog, type WatchdogOwner } from './watchdog.js';
import { RequestFilterRun, type FilterRunOwner } from './request-filters.js';
import { reportRequest } from './request-report.js';
import { UpstreamAttempt, type AttemptOwner } from './upstream-attempt.js';
import { AttemptFailures, failureAnswer, type FailureOwner } from './failures.js';

/**
 * The forwarding core, the same for HTTP/1.1 and HTTP/2 clients. It runs a request's phases
 * (pipeline.ts) by handing each to the module that owns it: request filters (request-filters.ts),
 * the request body (request-body.ts), pick and the upstream attempt on its connection
 * (upstream-attempt.ts), the response (response-relay.ts: head filters, body relay and taps),
 * timeouts (watchdog.ts), answers made here (answers.ts), and the report (request-report.ts:
 * trace, done filters), failures (failures.ts: retry or answer). What it keeps is the order of
 * the phases, when a request is over, and what the client's events mean.
 * One instance serves one client connection's requests in turn (HTTP/1.1) or one stream
 * (HTTP/2); a request's own state is its ProxyRequest.
 */
export class Forwarder implements DownstreamEvents, RelayOwner, WatchdogOwner, FilterRunOwner, AttemptOwner, AnswerOwner, FailureOwner {
  private readonly ctx: ProxyContext;
  private down: Downstream;
  private readonly body: RequestBody;
  private readonly relay: ResponseRelay;
  private readonly watchdog: UpstreamWatchdog;
  private readonly filterRun: RequestFilterRun;
  private readonly upstream: UpstreamAttempt;
  private readonly answers: AnswerSender;
  private readonly failures: AttemptFailures;

  /** The request in progress; null between requests. */
  req: ProxyRequest | null = null;
  private upgrade = false;

  constructor(ctx: ProxyContext, down: Downstream) {
    this.ctx = ctx;
    this.down = down;
    this.body = new RequestBody(down);
    this.relay = new ResponseRelay(ctx.filters, down, this, this.resumeUpstream);
    this.watchdog = new UpstreamWatchdog(ctx.responseTimeoutMs, ctx.readTimeoutMs, this);
    this.filterRun = new RequestFilterRun(ctx.filters, this);
    this.upstream = new UpstreamAttempt(ctx.connectTimeoutMs, this.body, this.relay, this.watchdog, this);
    this.answers = new AnswerSender(this);
    this.failures = new AttemptFailures(ctx, this.body, this.relay, this.watchdog, this.upstream, this);
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
    if (!this.body.done && this.ctx.filters.requestBody.length > 0) this.body.tapFor(this.ctx.filters.requestBody, req);
    this.filterRun.run(req);
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
    return this.req === null && this.upstream.idle && this.answers.idle;
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
    if (this.ctx.startup.open) this.attempt(null);
    else void this.ctx.startup.wait().then(this.afterStartup);
  }

  private readonly afterStartup = (): void => {
    if (this.req !== null && !this.req.responded && this.upstream.conn === null) this.attempt(null);
  };

  // ---- request body ----

  /** Bytes from the client while this request is active; returns how many belong to it. */
  requestData(chunk: Buffer): number {
    const req = this.req;
    if (req === null) return 0;
    if (this.relay.tunnel) {
      req.rx += chunk.length;
      const conn = this.upstream.conn;
      if (conn !== null && !conn.write(chunk)) this.body.pause();
      return chunk.length;
    }
    const n = this.body.data(chunk);
    this.watchdog.read();
    if (n === BODY_MALFORMED) {
      this.abortRequest(400, 'malformed chunked request body');
      return chunk.length;
    }
    req.rx += n;
    if (this.body.done) this.upstream.requestOnWire();
    return n;
  }

  /** HTTP/2: the client's body ended. */
  requestEnd(trailers: readonly string[] | null): void {
    if (this.req === null) return;
    if (!this.body.end(trailers)) this.abortRequest(400, 'request body shorter than its Content-Length');
    else this.upstream.requestOnWire();
  }

  // ---- phases 3 and 4: pick, upstream attempt ----

  /** One attempt; `fresh` sends to that backend on a new connection (after a stale pooled one). */
  attempt(fresh: Backend | null): void {
    const req = this.req!;
    const b = fresh ?? this.ctx.chooser.pick(req, req.tried);
    if (b === null) {
      this.answerFailure(req.error ?? new ProxyError('NO_BACKEND', 'no backend is ready'), noBackendLeft(req.error, req.target));
      return;
    }
    req.attempts++;
    req.backend = b;
    req.lastBackend = b.url;
    this.relay.start(req, this.upgrade);
    this.watchdog.start();
    this.upstream.open(req, b, fresh !== null);
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
    this.failures.timedOut(phase);
  }

  // ---- phases 5 and 6, reported by the relay ----

  headArrived(): void {
    this.watchdog.headSeen();
    const req = this.req!;
    req.ttfb = performance.now() - req.startedAt;
    this.upstream.recordTtfb();
  }

  headReplaced(_conn: UpstreamConnection, a: Answer): void {
    this.upstream.drop(false);
    this.upstream.end(this.req!, false);
    this.answer(a);
  }

  tunnelOpened(early: Buffer | null): void {
    if (early !== null) this.requestData(early);
  }

  complete(_conn: UpstreamConnection, extraBytes: boolean): void {
    // Reuse only a connection whose exchange ended cleanly on both sides.
    const relay = this.relay;
    const clientGone = relay.clientGone; // finish() resets the relay
    this.upstream.drop(relay.keepAlive && this.body.done && !extraBytes && !relay.tunnel);
    this.upstream.end(this.req!, false);
    relay.finishBody();
    this.finish();
    if (!clientGone) this.down.end(this.body.done);
  }

  clientDrained(): void {
    this.answers.resume();
    if (this.relay.clientDrained()) {
      this.watchdog.read();
      this.upstream.resume();
    }
  }

  private readonly resumeUpstream = (): void => {
    this.upstream.resume();
  };

  // ---- failures (failures.ts) ----

  upstreamClosed(conn: UpstreamConnection, err: (Error & { code?: string }) | null): void {
    this.failures.closed(conn, err);
  }

  malformed(_conn: UpstreamConnection, why: string): void {
    this.failures.malformed(why);
  }

  broken(_conn: UpstreamConnection, why: ProxyError, transport: boolean): void {
    this.failures.broken(why, transport);
  }

  tunnelClosed(): void {
    this.finish();
    this.down.end(false);
  }

  responseBroken(clientGone: boolean): void {
    this.finish();
    if (!clientGone) this.down.abort();
  }

  // ---- answers made here, and the end of a request ----

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
    this.answers.send(this.down, a, this.body.done, req.method === 'HEAD');
  }

  /** No response came: a failure filter may answer instead (a stale stored response), else `fallback`. */
  answerFailure(err: ProxyError, fallback: Answer): void {
    this.answer(failureAnswer(this.ctx.filters, this.req!, err, fallback));
  }

  answerSent(complete: boolean): void {
    if (this.req === null) return;
    this.finish();
    if (complete) this.down.end(this.body.done);
    else this.down.abort();
  }

  abortRequest(status: number, message: string): void {
    this.upstream.clearConnectTimer();
    this.upstream.drop(false);
    if (this.upstream.backend !== null) this.upstream.end(this.req!, false);
    this.body.done = false;
    this.answer(plainResponse(status, message));
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
      this.upstream.conn?.socket.end();
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
    this.upstream.clearConnectTimer();
    const left = new ProxyError('CLIENT_CLOSED', 'client closed the connection');
    if (this.upstream.conn !== null && this.body.done && this.relay.clientLeft(left)) {
      // A body tap (the cache's fill) wants the rest: the response is read for it alone and the request ends with it.
      if (!this.relay.waitingOnClient) this.upstream.resume();
      return;
    }
    this.upstream.drop(false);
    // The client's own cancellation never counts against the backend.
    this.upstream.end(req, false);
    this.answers.cancel();
    if (req.status === 0) req.error = left;
    this.relay.abortTaps(left);
    this.finish();
  }
}
