import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseListenAddress } from './listen.js';
import type { Result } from './result.js';

const reason = (result: Result<unknown>): string => (result.ok ? 'ok' : result.reason);

describe('parseListenAddress', () => {
  it('reads ":8080" as every interface', () => assert.deepEqual(parseListenAddress(':8080'), { ok: true, value: { host: '', port: 8080 } }));
  it('reads host:port', () => assert.deepEqual(parseListenAddress('Example.COM:9000'), { ok: true, value: { host: 'example.com', port: 9000 } }));
  it('reads bracketed IPv6 and stores it bare', () => {
    assert.deepEqual(parseListenAddress('[::1]:8080'), { ok: true, value: { host: '::1', port: 8080 } });
    assert.deepEqual(parseListenAddress('[::]:80'), { ok: true, value: { host: '::', port: 80 } });
  });
  it('accepts port 0 (ephemeral)', () => assert.deepEqual(parseListenAddress('127.0.0.1:0'), { ok: true, value: { host: '127.0.0.1', port: 0 } }));
  it('rejects a port out of range', () => {
    assert.deepEqual(parseListenAddress(':70000'), { ok: false, reason: 'port 70000 is out of range 0..65535' });
  });
  it('rejects a missing port', () => {
    assert.deepEqual(parseListenAddress('8080'), { ok: false, reason: '"8080" has no port (use :8080 or host:8080)' });
    assert.equal(parseListenAddress('host:').ok, false);
  });
  it('rejects unbracketed IPv6 and bad hosts', () => {
    assert.match(reason(parseListenAddress('::1:8080')), /must be in brackets/);
    assert.equal(parseListenAddress('bad host:80').ok, false);
    assert.equal(parseListenAddress('[::1:80').ok, false);
  });
});
