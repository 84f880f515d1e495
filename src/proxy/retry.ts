/**
 * What a failed attempt means, as two separate questions (RFC 9112 §9.3.1):
 * - may the request be sent again, to another backend or to the same one on a fresh connection?
 * - is the failure evidence that the backend is unhealthy?
 * Pure decision logic: the core feeds it facts, it touches nothing.
 */
import type { ProxyErrorCode } from './errors.js';

/** Methods whose requests may be sent twice (RFC 9110 §9.2.2). */
export function isIdempotent(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'PUT' || method === 'DELETE' || method === 'TRACE';
}

/** What the core knows when an attempt fails before any response byte reached the client. */
export interface FailedAttempt {
  readonly method: string;
  /** Some of the client's body went onto this connection (it is not kept, so it cannot be sent again). */
  readonly bodySent: boolean;
  /** The connection came from the idle pool rather than a fresh connect. */
  readonly reused: boolean;
  readonly error: ProxyErrorCode;
}

export interface RetryDecision {
  /** The request may go to another backend (if the retry budget allows). */
  readonly elsewhere: boolean;
  /**
   * A pooled connection the backend had closed as we reused it: send the request once more to
   * the same backend on a fresh connection, outside the retry budget.
   */
  readonly again: boolean;
  /** The failure counts against the backend's health. */
  readonly unhealthy: boolean;
}

const NO: RetryDecision = { elsewhere: false, again: false, unhealthy: false };
const ELSEWHERE_UNHEALTHY: RetryDecision = { elsewhere: true, again: false, unhealthy: true };
const STOP_UNHEALTHY: RetryDecision = { elsewhere: false, again: false, unhealthy: true };
const AGAIN: RetryDecision = { elsewhere: false, again: true, unhealthy: false };

/**
 * The request could be sent once more without the backend possibly applying it twice in a way
 * that matters: an idempotent method whose body (if any) has not started to go out.
 */
export function replayable(method: string, bodySent: boolean): boolean {
  return isIdempotent(method) && !bodySent;
}

export function decideRetry(f: FailedAttempt): RetryDecision {
  switch (f.error) {
    case 'UPSTREAM_CONNECT_FAILED':
    case 'UPSTREAM_CONNECT_TIMEOUT':
      // Nothing was sent: any request may go elsewhere.
      return ELSEWHERE_UNHEALTHY;
    case 'UPSTREAM_CLOSED':
      // A reused connection closing under us is the keep-alive race, not a sick backend: retry
      // it on a fresh connection when that is safe, and never take the backend out for it.
      if (f.reused) return replayable(f.method, f.bodySent) ? AGAIN : NO;
      return replayable(f.method, f.bodySent) ? ELSEWHERE_UNHEALTHY : STOP_UNHEALTHY;
    case 'UPSTREAM_TIMEOUT':
      return replayable(f.method, f.bodySent) ? ELSEWHERE_UNHEALTHY : STOP_UNHEALTHY;
    case 'UPSTREAM_BODY_BROKEN':
      return STOP_UNHEALTHY;
    default:
      // A malformed response is that response's fault; client, store and internal errors say
      // nothing about the backend.
      return NO;
  }
}
