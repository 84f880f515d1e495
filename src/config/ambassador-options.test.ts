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
  assert.deepEqual(errorsOf(parseCommandLine(['--split', '95/5', 'm:9000'], {})), ['--split 95/5: 2 weights for 1 site (give one weight per SITE)']);
  assert.deepEqual(errorsOf(parseCommandLine(['--hash-balance-factor', '1.25', 'm:9000'], {})), ['--hash-balance-factor needs --host-balance hash or --sticky-cookie']);
  assert.deepEqual(errorsOf(parseCommandLine(['--hash-key', 'path', 'm:9000'], {})), ['--hash-key needs --host-balance hash, --sticky-cookie or --split']);
});

test('with a sites file, --split may weigh more sites than the arguments give (the file is checked when read), never fewer', () => {
  assert.equal(configOf(parseCommandLine(['--split', '95/5', '--sites-file', '/s', 'm:9000'], {})).split?.length, 2);
  assert.deepEqual(errorsOf(parseCommandLine(['--split', '95/5', '--sites-file', '/s', 'a:9000', 'b:9000', 'c:9000'], {})),
    ['--split 95/5: 2 weights for 3 sites (give one weight per SITE)']);
});

test('a tuning flag without the feature it tunes is refused, naming both', () => {
  const e = errorsOf(parseCommandLine(['--outlier-ejection', '5s', '--outlier-max-share', '30%', '--mirror-sample', '10%', 'm:9000'],
    { OUTRIGGER_MIRROR_BODY_LIMIT: '1KiB', OUTRIGGER_OUTLIER_INTERVAL: '1s' }));
  assert.deepEqual(e.sort(), [
    '--mirror-sample tunes shadowing, which is off: add --mirror SITE',
    '--outlier-ejection tunes outlier ejection, which is off: add --outlier-5xx, --outlier-gateway or --outlier-success-rate',
    '--outlier-max-share tunes outlier ejection, which is off: add --outlier-5xx, --outlier-gateway or --outlier-success-rate',
    'OUTRIGGER_MIRROR_BODY_LIMIT tunes shadowing, which is off: add --mirror SITE',
    'OUTRIGGER_OUTLIER_INTERVAL tunes outlier ejection, which is off: add --outlier-5xx, --outlier-gateway or --outlier-success-rate',
  ]);
  // With their feature on (by flag or env), the same flags are fine.
  configOf(parseCommandLine(['--outlier-ejection', '5s', '--mirror-sample', '10%', '--mirror', 'http://s:9000', 'm:9000'], { OUTRIGGER_OUTLIER_GATEWAY: '3' }));
});

test('per-client limits with --workers above 1 are refused, naming both flags', () => {
  const e = errorsOf(parseCommandLine(['--workers', '2', '--rate-limit', '100/s', 'm:9000'], { OUTRIGGER_MAX_CONNS_PER_CLIENT: '10' }));
  assert.equal(e.length, 2, e.join('\n'));
  assert.match(e[0]!, /^--rate-limit with --workers 2: each worker would count a client on its own \(up to 2 × the limit\)/);
  assert.match(e[1]!, /^OUTRIGGER_MAX_CONNS_PER_CLIENT with --workers 2: /);
  configOf(parseCommandLine(['--workers', '1', '--rate-limit', '100/s', '--max-conns-per-client', '10', 'm:9000'], {}));
  configOf(parseCommandLine(['--workers', '2', '--max-conns-per-client', '0', 'm:9000'], {}));
});
