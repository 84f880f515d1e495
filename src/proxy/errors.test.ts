import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyError, upstreamSocketError } from './errors.js';
import { errorAnswer } from './error-response.js';

test('socket failures get stable codes from what happened, not from their text', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  assert.equal(upstreamSocketError(refused, false).code, 'UPSTREAM_CONNECT_FAILED');
  assert.equal(upstreamSocketError(refused, false).retryable, true);
  // A reset before the connection opened sent nothing either.
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  assert.equal(upstreamSocketError(reset, false).code, 'UPSTREAM_CONNECT_FAILED');
  const closed = upstreamSocketError(reset, true);
  assert.deepEqual([closed.code, closed.side, closed.retryable, closed.sysCode], ['UPSTREAM_CLOSED', 'upstream', false, 'ECONNRESET']);
  assert.equal(upstreamSocketError(null, true).code, 'UPSTREAM_CLOSED');
  const timeout = new ProxyError('UPSTREAM_CONNECT_TIMEOUT', 'connect timeout after 10 ms');
  assert.equal(upstreamSocketError(timeout, false), timeout);
});

test('the answer to a failed request is read from the typed error', () => {
  const gone = errorAnswer(new ProxyError('UPSTREAM_CLOSED', 'ECONNRESET: read ECONNRESET'), '/b/k?uploads');
  assert.equal(gone.status, 502);
  assert.match(gone.body, /<Code>BadGateway<\/Code><Message>The remote server returned an error \(ECONNRESET: read ECONNRESET\)<\/Message><Resource>\/b\/k<\/Resource>/);
  const down = errorAnswer(new ProxyError('NO_BACKEND', 'no backend'), '/x');
  assert.match(down.body, /<Code>BackendDown<\/Code>/);
  const slow = errorAnswer(new ProxyError('UPSTREAM_TIMEOUT', 'no response head within 5 s'), '/x');
  assert.equal(slow.status, 504);
  assert.match(slow.body, /<Code>GatewayTimeout<\/Code>/);
  assert.equal(errorAnswer(new ProxyError('CLIENT_BAD_REQUEST', 'duplicate Host header'), '/x').status, 400);
});
