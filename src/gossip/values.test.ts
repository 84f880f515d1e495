import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine } from '../config/parse.js';
import { hostname } from 'node:os';
import { gossipSettings } from './settings.js';

const parse = (argv: string[], env: Record<string, string> = {}) => parseCommandLine([...argv, 'm:9000'], env);

test('gossip is off by default; --join alone binds :7946; SIDECAR_SEEDS fills --join', () => {
  const off = parse([]);
  assert.ok(off.kind === 'config' && gossipSettings(off.config) === undefined);
  const joined = parse(['--join', 'seed1', '--join', '10.0.0.2:8000']);
  assert.ok(joined.kind === 'config');
  const s = gossipSettings(joined.config)!;
  assert.deepEqual(s.bind, { host: '', port: 7946 });
  assert.deepEqual(s.seeds, [{ host: 'seed1', port: 7946 }, { host: '10.0.0.2', port: 8000 }]);
  assert.equal(s.nodeName, hostname(), '--node-name defaults to the host name');
  const env = parse([], { SIDECAR_SEEDS: 'a:1,b' });
  assert.ok(env.kind === 'config');
  assert.deepEqual(env.config.join, [{ host: 'a', port: 1 }, { host: 'b', port: 7946 }]);
});

test('keys, cluster name and profile reach the settings', () => {
  const c = parse(['--gossip-bind', '127.0.0.1:0', '--gossip-key', 'AAECAwQFBgcICQoLDA0ODw==', '--cluster-name', 'prod', '--gossip-profile', 'wan']);
  assert.ok(c.kind === 'config');
  const s = gossipSettings(c.config)!;
  assert.equal(s.keys[0]?.length, 16);
  assert.equal(s.clusterName, 'prod');
  assert.equal(s.profile, 'wan');
});

test('bad gossip values are named', () => {
  const bad = parse(['--join', ':7946', '--gossip-key', 'AAEC', '--cluster-name', 'a b', '--gossip-bind', 'x:99999']);
  assert.ok(bad.kind === 'error');
  const text = bad.errors.join('\n');
  assert.match(text, /--join: ":7946" has no host/);
  assert.match(text, /--gossip-key: gossip key: key must be 16, 24 or 32 bytes/);
  assert.match(text, /--cluster-name: .*must not contain spaces/);
  assert.match(text, /--gossip-bind: "x:99999": port/);
});
