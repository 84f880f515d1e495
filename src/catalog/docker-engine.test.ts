import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEngineAddress, resolveEngine } from './docker-engine.js';
import { parseEvent } from './docker-events.js';
import { parseCommandLine } from '../config/parse.js';

test('engine addresses: unix:///path, a bare path, tcp://host:port; anything else is refused', () => {
  assert.deepEqual(parseEngineAddress('unix:///var/run/docker.sock'), { ok: true, value: { kind: 'unix', path: '/var/run/docker.sock' } });
  assert.deepEqual(parseEngineAddress('/tmp/d.sock'), { ok: true, value: { kind: 'unix', path: '/tmp/d.sock' } });
  assert.deepEqual(parseEngineAddress('tcp://10.0.0.5:2375'), { ok: true, value: { kind: 'tcp', host: '10.0.0.5', port: 2375, certPath: null } });
  assert.deepEqual(parseEngineAddress('tcp://[::1]:2376'), { ok: true, value: { kind: 'tcp', host: '::1', port: 2376, certPath: null } });
  for (const bad of ['', 'unix://', 'tcp://host', 'tcp://host:99999', 'tcp://host:2375/path', 'http://host:2375', 'npipe:////./pipe/docker_engine']) {
    assert.equal(parseEngineAddress(bad).ok, false, bad);
  }
});

test('the engine: --docker-socket wins over DOCKER_HOST, which is read only with --docker; TLS from DOCKER_TLS_VERIFY', () => {
  const flag = { kind: 'unix', path: '/flag.sock' } as const;
  assert.deepEqual(resolveEngine(undefined, false, { DOCKER_HOST: 'tcp://h:1' }), { ok: true, value: undefined });
  assert.deepEqual(resolveEngine(flag, false, { DOCKER_HOST: 'tcp://h:1' }), { ok: true, value: flag });
  assert.deepEqual(resolveEngine(undefined, true, {}), { ok: true, value: { kind: 'unix', path: '/var/run/docker.sock' } });
  assert.deepEqual(resolveEngine(undefined, true, { DOCKER_HOST: 'tcp://h:1' }), { ok: true, value: { kind: 'tcp', host: 'h', port: 1, certPath: null } });
  assert.deepEqual(resolveEngine(undefined, true, { DOCKER_HOST: 'h:1' }), { ok: true, value: { kind: 'tcp', host: 'h', port: 1, certPath: null } },
    'DOCKER_HOST without a scheme is TCP, as for the docker CLI');
  assert.match((resolveEngine(undefined, true, { DOCKER_HOST: 'fd://' }) as { reason: string }).reason, /^DOCKER_HOST: /);

  const certs = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-certs-'));
  try {
    const tlsEnv = { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs };
    assert.match((resolveEngine(undefined, true, tlsEnv) as { reason: string }).reason, /DOCKER_CERT_PATH .* has no ca\.pem/);
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) fs.writeFileSync(path.join(certs, f), 'x');
    assert.deepEqual(resolveEngine(undefined, true, tlsEnv), { ok: true, value: { kind: 'tcp', host: 'h', port: 2376, certPath: certs } });
    assert.deepEqual(resolveEngine(flag, true, tlsEnv), { ok: true, value: flag }, 'a unix socket takes no TLS');
    assert.deepEqual(resolveEngine(undefined, true, { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: certs }),
      { ok: true, value: { kind: 'tcp', host: 'h', port: 2376, certPath: null } }, 'an empty DOCKER_TLS_VERIFY is unset');
  } finally {
    fs.rmSync(certs, { recursive: true, force: true });
  }
});

test('the command line: DOCKER_HOST alone turns nothing on; with --docker a bad one is an error naming it', () => {
  const off = parseCommandLine(['sidecar://web'], { DOCKER_HOST: 'ssh://engine' });
  assert.equal(off.kind, 'config');
  assert.equal(off.kind === 'config' ? off.config.dockerSocket : 'x', undefined);
  const bad = parseCommandLine(['--docker', 'sidecar://web'], { DOCKER_HOST: 'ssh://engine' });
  assert.equal(bad.kind, 'error');
  assert.match(bad.kind === 'error' ? bad.errors.join('\n') : '', /DOCKER_HOST: "ssh:\/\/engine": use unix:\/\/\/path or tcp:\/\/host:port/);
  const on = parseCommandLine(['--docker-socket', 'tcp://127.0.0.1:2375', 'sidecar://web'], { DOCKER_HOST: 'unix:///other.sock' });
  assert.deepEqual(on.kind === 'config' ? on.config.dockerSocket : null, { kind: 'tcp', host: '127.0.0.1', port: 2375, certPath: null });
});

test('event lines: the API 1.22+ shape and the old one; other kinds of events; anything else is malformed', () => {
  assert.deepEqual(parseEvent('{"Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{}},"status":"die","id":"abc"}'), { action: 'die', id: 'abc' });
  assert.deepEqual(parseEvent('{"status":"stop","id":"def","from":"img","time":1}'), { action: 'stop', id: 'def' });
  assert.equal(parseEvent('{"Type":"network","Action":"connect","Actor":{"ID":"n1"}}'), 'other');
  for (const bad of ['not json', '[]', '"die"', 'null', '{"Action":"die"}', '{"Action":7,"Actor":{"ID":"x"}}']) assert.equal(parseEvent(bad), null, bad);
});
