/**
 * Phase "error" of a request: an attempt that failed, timed out, or whose backend closed the
 * connection. Before any response byte reached the client, retry.ts says what the failure means
 * and this module sends the request again (to the same backend on a fresh connection, or to
 * another one within the retry budget) or has the client answered (a failure filter, such as a
 * stale stored response, may answer instead of the error). After the response started, the
 * client sees it broken. One instance serves its Forwarder's requests in turn.
 */
import type { Backend } from '../upstream/backend.js';
import { attemptsAllowed, type ProxyContext } from './context.js';
import { errorAnswer } from './error-response.js';
import { ProxyError, upstreamSocketError } from './errors.js';
import type { FilterChain } from './filters.js';
import type { Answer } from './pipeline.js';
import type { UpstreamConnection } from './raw/upstream-pool.js';
import type { ProxyRequest } from './request.js';
import type { RequestBody } from './request-body.js';
import type { ResponseRelay } from './response-relay.js';
import { decideRetry, type RetryDecision } from './retry.js';
import type { UpstreamAttempt } from './upstream-attempt.js';
import type { UpstreamWatchdog } from './watchdog.js';

/** The next step after a failed attempt (numbers, so choosing one allocates nothing). */
export const ANSWER_CLIENT = 0;
export const SAME_BACKEND_AGAIN = 1;
export const OTHER_BACKEND = 2;
export type NextStep = typeof ANSWER_CLIENT | typeof SAME_BACKEND_AGAIN | typeof OTHER_BACKEND;

/** Chooses the next step for `req`, whose attempt on `b` failed with `decision`, and books it on req and b. */
export function nextStep(ctx: ProxyContext, req: ProxyRequest, b: Backend, decision: RetryDecision): NextStep {
  if (decision.again && !req.staleRetried) {
    // A reconnect to the same backend, not a retry: it does not spend the retry budget.
    req.staleRetried = true;
    req.attempts--;
    return SAME_BACKEND_AGAIN;
  }
  if ((decision.elsewhere || decision.again) && req.attempts < attemptsAllowed(ctx)) {
    b.stats.recordRetry();
    (req.tried ??= []).push(b);
    return OTHER_BACKEND;
  }
  return ANSWER_CLIENT;
}

/** No response came: the first failure filter's answer (a stale stored response), else `fallback`. */
export function failureAnswer(filters: FilterChain, req: ProxyRequest, err: ProxyError, fallback: Answer): Answer {
  for (const f of filters.failed) {
    const instead = f.failed!(req, err);
    if (instead !== null) return instead;
  }
  return fallback;
}

/** What the failure handling asks of its forwarder. */
export interface FailureOwner {
  /** The request in progress; null between requests. */
  readonly req: ProxyRequest | null;
  /** Another attempt; `fresh`: to that backend on a new connection, else to one the chooser picks. */
  attempt(fresh: Backend | null): void;
  /** Answer the client with `answer` (no response came); a failure filter may answer instead. */
  answerFailure(err: ProxyError, answer: Answer): void;
  /** Answer `status` at once and close the client's connection (its request body is not read on). */
  abortRequest(status: number, message: string): void;
  /** The response ended with the connection (a close-delimited body). */
  complete(conn: UpstreamConnection, extraBytes: boolean): void;
  /** The tunnel's backend side closed: the request is over and the client connection ends. */
  tunnelClosed(): void;
  /** The request is over with its response broken: the client is cut, unless it already left. */
  responseBroken(clientGone: boolean): void;
}

export class AttemptFailures {
  private readonly ctx: ProxyContext;
  private readonly body: RequestBody;
  private readonly relay: ResponseRelay;
  private readonly watchdog: UpstreamWatchdog;
  private readonly upstream: UpstreamAttempt;
  private readonly owner: FailureOwner;

  constructor(ctx: ProxyContext, body: RequestBody, relay: ResponseRelay, watchdog: UpstreamWatchdog, upstream: UpstreamAttempt, owner: FailureOwner) {
    this.ctx = ctx;
    this.body = body;
    this.relay = relay;
    this.watchdog = watchdog;
    this.upstream = upstream;
    this.owner = owner;
  }

  /** The watchdog's limit passed (see WatchdogOwner). */
  timedOut(phase: 'head' | 'body' | 'upload'): void {
    const conn = this.upstream.conn;
    if (conn === null || this.owner.req === null) return;
    if (phase === 'upload') {
      this.uploadStalled(conn);
    } else if (phase === 'head') {
      this.beforeResponse(conn, new ProxyError('UPSTREAM_TIMEOUT', `no response within ${this.watchdog.responseMs} ms`));
    } else {
      this.broken(new ProxyError('UPSTREAM_TIMEOUT', `response body stalled for ${this.watchdog.readMs} ms`), true);
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
      this.beforeResponse(conn, new ProxyError('UPSTREAM_TIMEOUT', `backend took no request body bytes for ${ms} ms`));
      return;
    }
    const why = `request body stalled for ${ms} ms`;
    this.owner.req!.error = new ProxyError('CLIENT_TIMEOUT', why);
    this.owner.abortRequest(408, why);
  }

  /** The attempt's connection ended or failed; err is null for a clean EOF. */
  closed(conn: UpstreamConnection, err: (Error & { code?: string }) | null): void {
    if (this.relay.tunnel) {
      this.upstream.drop(false);
      this.upstream.end(this.owner.req!, false);
      this.owner.tunnelClosed();
      return;
    }
    if (this.relay.started) {
      if (this.relay.endsAtClose && err === null) this.owner.complete(conn, false);
      else this.broken(new ProxyError('UPSTREAM_BODY_BROKEN', err === null ? 'backend closed the response early' : upstreamSocketError(err, true).message, err?.code), true);
      return;
    }
    this.beforeResponse(conn, err);
  }

  private beforeResponse(conn: UpstreamConnection, err: (Error & { code?: string }) | null): void {
    const req = this.owner.req!;
    const b = this.upstream.backend!;
    const error = upstreamSocketError(err, conn.connected);
    const decision = decideRetry({ method: req.method, bodySent: this.body.sent, reused: conn.reused, error: error.code });
    this.upstream.drop(false);
    req.error = error;
    if (decision.unhealthy) this.ctx.upstreams.requestFailed(b, error.message);
    // A stale pooled connection is not an error of the backend's.
    this.upstream.end(req, !decision.again);
    const next = nextStep(this.ctx, req, b, decision);
    if (next === SAME_BACKEND_AGAIN) this.owner.attempt(b);
    else if (next === OTHER_BACKEND) this.owner.attempt(null);
    else this.owner.answerFailure(error, errorAnswer(error, req.target));
  }

  /** The backend did not speak HTTP (nothing went to the client yet). */
  malformed(why: string): void {
    const req = this.owner.req!;
    this.upstream.drop(false);
    req.error = new ProxyError('UPSTREAM_MALFORMED', `malformed response from backend: ${why}`);
    this.upstream.end(req, true);
    this.owner.answerFailure(req.error, errorAnswer(req.error, req.target));
  }

  /** The response head went out but its body did not finish: the client must see it broken. */
  broken(why: ProxyError, transport: boolean): void {
    const req = this.owner.req!;
    const clientGone = this.relay.clientGone; // the end of the request resets the relay
    this.upstream.drop(false);
    req.error = why;
    if (transport) this.ctx.upstreams.requestFailed(this.upstream.backend!, why.message);
    this.upstream.end(req, true);
    this.relay.abortTaps(why);
    this.owner.responseBroken(clientGone);
  }
}
