import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine } from '../config/parse.js';
import { configOf } from '../config/harness.js';
import { UpstreamSet } from '../upstream/upstream-set.js';
import { Ambassador } from './setup.js';

function ambassador(...flags: string[]): Ambassador {
  const config = configOf(parseCommandLine([...flags, 'http://a:9000', 'http://b:9000'], {}));
  const a = new Ambassador(config, new UpstreamSet(config.sites, config));
  a.stop();
  return a;
}

test('with no ambassador flag nothing is in the request path: no chooser, no filter, no cap, no metrics', () => {
  const a = ambassador();
  assert.deepEqual([a.chooser, a.filters, a.connectionCap, a.rateLimiter, a.outlier, a.mirror], [null, [], null, null, null, null]);
  assert.equal(a.metricsSection(new UpstreamSet([], configOf(parseCommandLine(['m:1'], {})))), null);
});

test('each feature adds only its own piece, filters in phase order', () => {
  assert.deepEqual(ambassador('--host-balance', 'hash').filters, []);
  assert.notEqual(ambassador('--host-balance', 'hash').chooser, null);
  assert.deepEqual(ambassador('--split', '95/5').filters, []);
  assert.deepEqual(ambassador('--sticky-cookie', 'lb').filters.map((f) => f.name), ['sticky-cookie']);
  assert.equal(ambassador('--max-conns-per-client', '3').filters.length, 0);
  assert.notEqual(ambassador('--max-conns-per-client', '3').connectionCap, null);
  const all = ambassador('--rate-limit', '10/s', '--sticky-cookie', 'lb', '--mirror', 'http://m:9000', '--outlier-5xx', '5');
  assert.deepEqual(all.filters.map((f) => f.name), ['rate-limit', 'sticky-cookie', 'mirror', 'outlier-detection']);
});
