import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCommandLine } from '../config/parse.js';
import { configOf, errorsOf } from '../config/harness.js';
import { catalogWanted } from './runtime.js';

test('catalog flags: defaults, flags and Sidecar\'s env names', () => {
  const plain = configOf(parseCommandLine(['m:9000'], {}));
  assert.deepEqual(plain.apiAddress, { host: '127.0.0.1', port: 7777 });
  assert.deepEqual([plain.services, plain.staticConfigFile, plain.listenerUrls, plain.serviceCheckInterval, plain.dockerSocket], [[], undefined, [], 3000, undefined]);
  assert.equal(catalogWanted(plain), false, 'no gossip, no local service, no sidecar:// site: no catalog');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-catalog-opts-'));
  const file = path.join(dir, 'static.json');
  fs.writeFileSync(file, JSON.stringify([{ Service: { Name: 'web', Ports: [{ Port: 8080 }] } }]));
  try {
    const c = configOf(parseCommandLine(['--api-address', 'off', '--service', 'echo=http://127.0.0.1:9000/health', '--service-check-interval', '500ms', 'sidecar://echo'],
      { STATIC_CONFIG_FILE: file, LISTENERS_URLS: 'http://127.0.0.1:1/a, http://127.0.0.1:2/b' }));
    assert.equal(c.apiAddress, undefined);
    assert.deepEqual(c.services, [{ name: 'echo', url: 'http://127.0.0.1:9000/health' }]);
    assert.equal(c.staticConfigFile, file);
    assert.deepEqual(c.listenerUrls, ['http://127.0.0.1:1/a', 'http://127.0.0.1:2/b']);
    assert.equal(c.serviceCheckInterval, 500);
    assert.equal(catalogWanted(c), true);
    assert.equal(catalogWanted(configOf(parseCommandLine(['sidecar://echo'], {}))), true, 'a sidecar:// SITE alone runs the catalog');
    assert.equal(catalogWanted(configOf(parseCommandLine(['--gossip-bind', '127.0.0.1:0', 'm:9000'], {}))), true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad catalog flags are refused, each naming the problem', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-catalog-opts-'));
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify([{ Service: { Name: 'web', Ports: [{ Port: 0 }] } }, { Service: {} }]));
  try {
    const errors = errorsOf(parseCommandLine([
      '--api-address', 'nowhere', '--service', 'echo', '--service', 'a b=http://x:1/', '--listener-url', 'ftp://x/',
      '--static-config-file', bad, 'm:9000',
    ], {}));
    assert.equal(errors.length, 5, errors.join('\n'));
    assert.match(errors[0]!, /--api-address/);
    assert.match(errors.join('\n'), /--service.*NAME=http/);
    assert.match(errors.join('\n'), /the name may hold letters/);
    assert.match(errors.join('\n'), /listeners are http:\/\/ URLs/);
    assert.match(errors.join('\n'), /entry 1 \(web\): ports must be 1\.\.65535.*entry 2: needs "Service" with a "Name"/);
    const missing = errorsOf(parseCommandLine(['--static-config-file', path.join(dir, 'nope.json'), 'm:9000'], {}));
    assert.match(missing[0]!, /nope\.json: cannot read it \(no such file\)/);
    assert.equal(parseCommandLine(['--workers', '2', '--gossip-bind', '127.0.0.1:0', 'sidecar://echo'], {}).kind, 'config', 'the primary runs the catalog and gossip');
    const mirror = errorsOf(parseCommandLine(['--mirror', 'sidecar://echo', 'm:9000'], {}));
    assert.match(mirror[0]!, /mirror site cannot name catalog services/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
