/**
 * The retry/health decision, every row: method class × body sent × connection reused × error kind.
 * RFC 9112 §9.3.1: only an attempt that sent nothing may be repeated for any method; a
 * non-idempotent request (a bodiless POST included) is never repeated once its head went out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRetry, isIdempotent } from './retry.js';
import type { ProxyErrorCode } from './errors.js';

/** E: elsewhere, A: again on a fresh connection to the same backend, U: unhealthy, -: nothing. */
type Expect = 'EU' | 'U' | 'A' | '-';

// [idempotent, bodySent, reused, error, expected]
const TABLE: readonly [boolean, boolean, boolean, ProxyErrorCode, Expect][] = [
  // Connect failures: nothing reached the backend, every method goes elsewhere, the backend is suspect.
  [true, false, false, 'UPSTREAM_CONNECT_FAILED', 'EU'],
  [true, true, false, 'UPSTREAM_CONNECT_FAILED', 'EU'],
  [true, false, true, 'UPSTREAM_CONNECT_FAILED', 'EU'],
  [true, true, true, 'UPSTREAM_CONNECT_FAILED', 'EU'],
  [false, false, false, 'UPSTREAM_CONNECT_FAILED', 'EU'],
  [false, true, false, 'UPSTREAM_CONNECT_FAILED', 'EU'],
  [false, false, true, 'UPSTREAM_CONNECT_FAILED', 'EU'],
  [false, true, true, 'UPSTREAM_CONNECT_FAILED', 'EU'],
  [true, false, false, 'UPSTREAM_CONNECT_TIMEOUT', 'EU'],
  [false, false, false, 'UPSTREAM_CONNECT_TIMEOUT', 'EU'],
  [false, true, true, 'UPSTREAM_CONNECT_TIMEOUT', 'EU'],
  // Closed after the head went out, on a fresh connection: evidence against the backend; only a
  // replayable request (idempotent, no body bytes sent) goes elsewhere.
  [true, false, false, 'UPSTREAM_CLOSED', 'EU'],
  [true, true, false, 'UPSTREAM_CLOSED', 'U'],
  [false, false, false, 'UPSTREAM_CLOSED', 'U'],
  [false, true, false, 'UPSTREAM_CLOSED', 'U'],
  // Closed on a reused connection: the keep-alive race, never counted against the backend; a
  // replayable request gets one fresh connection to the same backend.
  [true, false, true, 'UPSTREAM_CLOSED', 'A'],
  [true, true, true, 'UPSTREAM_CLOSED', '-'],
  [false, false, true, 'UPSTREAM_CLOSED', '-'],
  [false, true, true, 'UPSTREAM_CLOSED', '-'],
  // No answer in time: the backend is suspect; only a replayable request goes elsewhere.
  [true, false, false, 'UPSTREAM_TIMEOUT', 'EU'],
  [true, false, true, 'UPSTREAM_TIMEOUT', 'EU'],
  [true, true, false, 'UPSTREAM_TIMEOUT', 'U'],
  [true, true, true, 'UPSTREAM_TIMEOUT', 'U'],
  [false, false, false, 'UPSTREAM_TIMEOUT', 'U'],
  [false, false, true, 'UPSTREAM_TIMEOUT', 'U'],
  [false, true, false, 'UPSTREAM_TIMEOUT', 'U'],
  [false, true, true, 'UPSTREAM_TIMEOUT', 'U'],
  // A response that is not HTTP: that response's fault, never retried, the backend stays in.
  [true, false, false, 'UPSTREAM_MALFORMED', '-'],
  [true, false, true, 'UPSTREAM_MALFORMED', '-'],
  [true, true, false, 'UPSTREAM_MALFORMED', '-'],
  [false, false, false, 'UPSTREAM_MALFORMED', '-'],
  [false, true, true, 'UPSTREAM_MALFORMED', '-'],
  // A body that broke off after the head was relayed: too late to retry, the backend is suspect.
  [true, false, false, 'UPSTREAM_BODY_BROKEN', 'U'],
  [false, true, true, 'UPSTREAM_BODY_BROKEN', 'U'],
  // Failures that are not the backend's.
  [true, false, false, 'CLIENT_CLOSED', '-'],
  [false, true, true, 'CLIENT_CLOSED', '-'],
  [true, false, false, 'CLIENT_BAD_REQUEST', '-'],
  [true, false, false, 'STORE_FAILED', '-'],
  [true, false, false, 'INTERNAL', '-'],
];

function code(d: { elsewhere: boolean; again: boolean; unhealthy: boolean }): Expect {
  const s = `${d.elsewhere ? 'E' : ''}${d.again ? 'A' : ''}${d.unhealthy ? 'U' : ''}`;
  return (s === '' ? '-' : s) as Expect;
}

test('every row of the retry/health decision table', () => {
  const methods = { true: ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'], false: ['POST', 'PATCH', 'CONNECT'] };
  for (const [idempotent, bodySent, reused, error, expected] of TABLE) {
    for (const method of methods[String(idempotent) as 'true' | 'false']) {
      const got = code(decideRetry({ method, bodySent, reused, error }));
      assert.equal(got, expected, `${method} bodySent=${bodySent} reused=${reused} ${error}`);
    }
  }
});

test('the table covers every combination of the upstream failure kinds', () => {
  const kinds: ProxyErrorCode[] = ['UPSTREAM_CLOSED', 'UPSTREAM_TIMEOUT'];
  for (const kind of kinds) {
    for (const idempotent of [true, false]) {
      for (const bodySent of [true, false]) {
        for (const reused of [true, false]) {
          assert.ok(TABLE.some((r) => r[0] === idempotent && r[1] === bodySent && r[2] === reused && r[3] === kind), `row ${kind} ${idempotent} ${bodySent} ${reused}`);
        }
      }
    }
  }
});

test('a bodiless POST (S3 CreateMultipartUpload) is not repeated once its head went out', () => {
  assert.equal(code(decideRetry({ method: 'POST', bodySent: false, reused: false, error: 'UPSTREAM_CLOSED' })), 'U');
  assert.equal(code(decideRetry({ method: 'POST', bodySent: false, reused: true, error: 'UPSTREAM_CLOSED' })), '-');
  assert.equal(code(decideRetry({ method: 'POST', bodySent: false, reused: false, error: 'UPSTREAM_CONNECT_FAILED' })), 'EU');
});

test('idempotent methods per RFC 9110 §9.2.2', () => {
  for (const m of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']) assert.ok(isIdempotent(m), m);
  for (const m of ['POST', 'PATCH', 'CONNECT', 'PROPFIND', 'get']) assert.ok(!isIdempotent(m), m);
});
