import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { parseBackendUrl } from './backend-url.js';
import { pointsAtSelf } from './self-loop.js';
import type { BackendSpec } from '../config/types.js';

const backend = (text: string): BackendSpec => {
  const result = parseBackendUrl(text);
  if (!result.ok) assert.fail(result.reason);
  return result.value;
};
const wildcard = { host: '', port: 8080 };

describe('pointsAtSelf', () => {
  it('matches every local name when listening on all interfaces', () => {
    for (const listenHost of ['', '0.0.0.0', '::']) {
      for (const text of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', '0.0.0.0:8080', '[::]:8080', 'MyBox:8080']) {
        assert.equal(pointsAtSelf({ host: listenHost, port: 8080 }, backend(text), 'mybox'), true, `${listenHost} ${text}`);
      }
    }
  });
  it('uses os.hostname() by default', () => {
    const name = hostname().toLowerCase();
    if (!/^[a-z0-9_.-]+$/.test(name)) return; // an exotic machine name could not be a backend URL anyway
    assert.equal(pointsAtSelf(wildcard, backend(`${name}:8080`)), true);
  });
  it('ignores other ports and other hosts', () => {
    assert.equal(pointsAtSelf(wildcard, backend('localhost:9000')), false);
    assert.equal(pointsAtSelf(wildcard, backend('minio:8080'), 'mybox'), false);
    assert.equal(pointsAtSelf({ host: '', port: 80 }, backend('https://localhost'), 'mybox'), false);
  });
  it('compares the port including the scheme default', () => {
    assert.equal(pointsAtSelf({ host: '', port: 80 }, backend('http://localhost'), 'mybox'), true);
  });
  it('never conflicts on listen port 0', () => {
    assert.equal(pointsAtSelf({ host: '127.0.0.1', port: 0 }, backend('127.0.0.1:1')), false);
  });
  it('with a specific listen host, matches that host, treating localhost as 127.0.0.1', () => {
    const listen = { host: '127.0.0.1', port: 8080 };
    assert.equal(pointsAtSelf(listen, backend('127.0.0.1:8080')), true);
    assert.equal(pointsAtSelf(listen, backend('localhost:8080')), true);
    assert.equal(pointsAtSelf({ host: 'localhost', port: 8080 }, backend('127.0.0.1:8080')), true);
    assert.equal(pointsAtSelf({ host: '10.0.0.5', port: 8080 }, backend('10.0.0.5:8080')), true);
    assert.equal(pointsAtSelf({ host: '10.0.0.5', port: 8080 }, backend('localhost:8080')), false);
    assert.equal(pointsAtSelf({ host: '::1', port: 8080 }, backend('[::1]:8080')), true);
  });
});
