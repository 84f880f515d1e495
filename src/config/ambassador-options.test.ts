import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine } from './parse.js';
import { configOf, errorsOf } from './harness.js';


test('ambassador options are all off by default', () => {
  const c = configOf(parseCommandLine(['m:9000'], {}));
  assert.deepEqual(
    [c.hashKey, c.hashBalanceFactor, c.stickyCookie, c.split, c.rateLimit, c.maxConnsPerClient, c.outlier5xx, c.outlierGateway, c.outlierSuccessRate, c.mirror],
    [undefined, 0, undefined, undefined, undefined, 0, 0, 0, 0, undefined],
  );
});

test('ambassador options parse from flags and env', () => {
  const c = configOf(parseCommandLine([
    '--host-balance', 'hash', '--hash-key', 'header:X-User', '--hash-balance-factor', '1.25', '--sticky-cookie', 'lb',
    '--split', '95/5', '--rate-limit', '100/s,burst=200', '--max-conns-per-client', '50', '--outlier-5xx', '5',
    '--outlier-ejection', '2s', '--outlier-max-share', '34%', '--mirror', 'http://shadow{1...2}:9000', '--mirror-sample', '10%',
    'http://a:9000', 'http://b:9000',
  ], { OUTRIGGER_MIRROR_BODY_LIMIT: '64KiB', OUTRIGGER_OUTLIER_GATEWAY: '3' }));
  assert.equal(c.hostBalance, 'hash');
  assert.deepEqual(c.hashKey, { kind: 'header', name: 'x-user' });
  assert.deepEqual([c.hashBalanceFactor, c.stickyCookie, c.split], [1.25, 'lb', [95, 5]]);
  assert.deepEqual([c.rateLimit?.[0]?.rate, c.rateLimit?.[0]?.burst, c.maxConnsPerClient], [100, 200, 50]);
  assert.deepEqual([c.outlier5xx, c.outlierGateway, c.outlierEjection, c.outlierMaxShare], [5, 3, 2000, 0.34]);
  assert.deepEqual(c.mirror?.backends.map((b) => b.url), ['http://shadow1:9000', 'http://shadow2:9000']);
  assert.deepEqual([c.mirrorSample, c.mirrorBodyLimit], [0.1, 65536]);
});

test('bad ambassador options and combinations exit with every reason', () => {
  const e = errorsOf(parseCommandLine([
    '--hash-key', 'host', '--hash-balance-factor', '0.5', '--sticky-cookie', 'a b', '--rate-limit', '100', '--mirror', 'ftp://x',
    '--mirror-sample', '2', 'm:9000',
  ], {}));
  assert.equal(e.length, 6, e.join('\n'));
  assert.ok(e.every((m) => /^--(hash-key|hash-balance-factor|sticky-cookie|rate-limit|mirror|mirror-sample): /.test(m)), e.join('\n'));
  assert.deepEqual(errorsOf(parseCommandLine(['--split', '95/5', 'm:9000'], {})), ['--split: 2 weights for 1 site (give one weight per SITE)']);
  assert.deepEqual(errorsOf(parseCommandLine(['--hash-balance-factor', '1.25', 'm:9000'], {})), ['--hash-balance-factor needs --host-balance hash or --sticky-cookie']);
  assert.deepEqual(errorsOf(parseCommandLine(['--hash-key', 'path', 'm:9000'], {})), ['--hash-key needs --host-balance hash, --sticky-cookie or --split']);
});
