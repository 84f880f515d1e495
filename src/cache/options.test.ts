import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine } from '../config/parse.js';
import { configOf, errorsOf } from '../config/harness.js';
import { usageText } from '../config/help.js';
import { formatByteSize, parseByteSize } from './size.js';
import { cacheSettings } from './settings.js';


const SITE = 'http://minio:9000';
const SIDEKICK_ENV = {
  SIDEKICK_CACHE_ENDPOINT: 'http://minio-remote:9000',
  SIDEKICK_CACHE_ACCESS_KEY: 'minio',
  SIDEKICK_CACHE_SECRET_KEY: 'minio123',
  SIDEKICK_CACHE_BUCKET: 'cache01',
  SIDEKICK_CACHE_MIN_SIZE: '64MB',
  SIDEKICK_CACHE_HEALTH_DURATION: '20',
};

describe('parseByteSize', () => {
  it('reads sizes like go-humanize: decimal MB, binary MiB, plain bytes, any case', () => {
    const cases: Array<[string, number]> = [
      ['0', 0], ['1048576', 1048576], ['64MB', 64_000_000], ['32MiB', 32 * 1024 * 1024], ['1 GiB', 1024 ** 3],
      ['10k', 10_000], ['10KiB', 10_240], ['1.5MiB', 1.5 * 1024 * 1024], ['5mb', 5_000_000], ['7B', 7],
    ];
    for (const [text, bytes] of cases) assert.deepEqual(parseByteSize(text), { ok: true, value: bytes }, text);
  });

  it('refuses negative numbers, unknown units and garbage', () => {
    for (const text of ['-1', '64XB', 'MB', '', '1e6', '12 34']) assert.equal(parseByteSize(text).ok, false, text);
  });

  it('formats whole binary units', () => {
    assert.equal(formatByteSize(1024 * 1024), '1 MiB');
    assert.equal(formatByteSize(1000), '1000 B');
  });
});

describe('cache options', () => {
  it('is off by default, with sidekick-compatible defaults for the rest', () => {
    const c = configOf(parseCommandLine([SITE], {}));
    assert.equal(c.cacheEndpoint, undefined);
    assert.equal(cacheSettings(c), undefined);
    assert.equal(c.cacheMinSize, 1024 * 1024);
    assert.equal(c.cacheHealthDuration, 60_000);
    assert.equal(c.cacheMemory, 64 * 1024 * 1024);
    assert.equal(c.cacheReadAhead, 128 * 1024 * 1024);
    assert.equal(c.cacheServeStaleOnError, 0);
    assert.equal(c.cacheRegion, 'us-east-1');
  });

  it("takes sidekick's SIDEKICK_CACHE_* variables unchanged", () => {
    const s = cacheSettings(configOf(parseCommandLine([SITE], SIDEKICK_ENV)));
    assert.ok(s !== undefined);
    assert.equal(s.endpoint, 'http://minio-remote:9000');
    assert.equal(s.accessKey, 'minio');
    assert.equal(s.secretKey, 'minio123');
    assert.equal(s.bucket, 'cache01');
    assert.equal(s.minSize, 64_000_000);
    assert.equal(s.healthIntervalMs, 20_000);
  });

  it('a flag wins over OUTRIGGER_CACHE_*, which wins over SIDEKICK_CACHE_*', () => {
    const env = { ...SIDEKICK_ENV, OUTRIGGER_CACHE_BUCKET: 'from-outrigger', OUTRIGGER_CACHE_MIN_SIZE: '32MiB' };
    const c = configOf(parseCommandLine(['--cache-min-size', '0', SITE], env));
    assert.equal(c.cacheBucket, 'from-outrigger');
    assert.equal(c.cacheMinSize, 0);
    assert.equal(configOf(parseCommandLine([SITE], env)).cacheMinSize, 32 * 1024 * 1024);
  });

  it('names each missing piece when the endpoint is set without keys or bucket', () => {
    const found = errorsOf(parseCommandLine(['--cache-endpoint', 'http://127.0.0.1:9000', SITE], {}));
    assert.equal(found.length, 3);
    assert.match(found[0]!, /cache-access-key/);
    assert.match(found[1]!, /cache-secret-key/);
    assert.match(found[2]!, /cache-bucket/);
  });

  it('refuses bad values at start with the option named', () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['--cache-endpoint', 'ftp://x'], {}, /--cache-endpoint: .*only http and https/],
      [['--cache-endpoint', 'http://x:9000/bucket'], {}, /without a path/],
      [[], { SIDEKICK_CACHE_MIN_SIZE: '64XB' }, /SIDEKICK_CACHE_MIN_SIZE: .*not a size/],
      [['--cache-bucket', 'Bad_Bucket'], {}, /--cache-bucket: .*not a valid bucket name/],
      [['--cache-memory', 'lots'], {}, /--cache-memory: .*not a size/],
      [['--cache-health-duration', '0'], {}, /--cache-health-duration: .*greater than 0/],
      [['--cache-serve-stale-on-error', 'forever'], {}, /--cache-serve-stale-on-error: .*not a duration/],
    ];
    for (const [args, env, pattern] of cases) {
      const found = errorsOf(parseCommandLine([...args, SITE], env));
      assert.ok(found.some((e) => pattern.test(e)), `${args.join(' ')} ${JSON.stringify(env)} -> ${found.join(' | ')}`);
    }
  });

  it('normalises the endpoint and the key prefix', () => {
    const c = configOf(parseCommandLine(['--cache-prefix', '/team/a', '--cache-endpoint', 'HTTPS://Store.example:443/', SITE], {
      OUTRIGGER_CACHE_ACCESS_KEY: 'a', OUTRIGGER_CACHE_SECRET_KEY: 'b', OUTRIGGER_CACHE_BUCKET: 'bkt',
    }));
    assert.equal(c.cacheEndpoint, 'https://store.example');
    assert.equal(c.cachePrefix, 'team/a/');
  });

  it('lists both env names in the help', () => {
    assert.match(usageText(), /env: \$OUTRIGGER_CACHE_ENDPOINT\n +or \$SIDEKICK_CACHE_ENDPOINT/);
  });
});
