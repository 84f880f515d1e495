import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { envName, findOption, OPTIONS } from './options.js';

describe('option table', () => {
  it('derives env names from long names', () => {
    assert.equal(envName('health-path'), 'OUTRIGGER_HEALTH_PATH');
    for (const option of OPTIONS) {
      if (option.kind !== 'action') assert.equal(option.env, envName(option.long));
    }
  });
  it('gives actions no env var', () => {
    assert.equal(findOption('help')?.env, undefined);
    assert.equal(findOption('version')?.env, undefined);
  });
  it('has no two options sharing a long name or a short alias', () => {
    const names = OPTIONS.flatMap((option) => (option.short === undefined ? [option.long] : [option.long, option.short]));
    assert.equal(new Set(names).size, names.length);
  });
  it('declares the sidekick flags with their short aliases', () => {
    const pairs = { address: 'a', 'health-path': 'p', 'read-health-path': 'r', 'health-duration': 'd', insecure: 'i',
      log: 'l', trace: 't', errors: 'e', quiet: 'q', help: 'h', version: 'v' };
    for (const [long, short] of Object.entries(pairs)) {
      assert.equal(findOption(long)?.short, short, long);
      assert.equal(findOption(short)?.long, long, short);
    }
  });
  it('finds nothing for unknown names', () => assert.equal(findOption('foo'), undefined));
  it('shows in help a default that parses back to the real default', () => {
    // These show a phrase ("the health path", "off") rather than a value.
    const described = new Set(['read-health-path', 'health-port', 'max-retries', 'trace', 'metrics-address',
      'cert', 'key', 'auto-tls-host', 'cacert', 'client-cert', 'client-key',
      'cache-endpoint', 'cache-access-key', 'cache-secret-key', 'cache-bucket', 'cache-prefix', 'cache-serve-stale-on-error', 'cache-index',
      'gossip-bind', 'gossip-advertise', 'cluster-name', 'node-name',
      'hash-key', 'hash-balance-factor', 'sticky-cookie', 'split', 'rate-limit', 'max-conns-per-client', 'outlier-5xx', 'outlier-gateway',
      'outlier-success-rate', 'mirror', 'sites-file', 'static-config-file', 'docker-socket']);
    for (const option of OPTIONS) {
      if (option.kind === 'action' || option.kind === 'repeatable' || described.has(option.long)) continue;
      const shown = option.defaultText ?? String(option.default);
      assert.deepEqual(option.parse(shown), { ok: true, value: option.default }, option.long);
    }
  });
});
