import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { prepareResponse, requestFacts, storeVerdict, StoredPolicy, type PolicyObject, type RequestFacts } from './policy.js';
import { parseDirectives, effectiveControl } from './directives.js';
import { normaliseVaryValue, variantId, varyFields } from './vary.js';
import { appendCacheStatus, formatCacheStatus } from './cache-status.js';

const T0 = Date.parse('2026-11-29T08:00:00Z');
const DATE = new Date(T0).toUTCString();

/** A clock the test moves by hand. */
function clockAt(ms = T0): { now: () => number; advance(seconds: number): void } {
  let t = ms;
  return { now: () => t, advance(s) { t += s * 1000; } };
}

function req(headers: Record<string, string> = {}, method = 'GET'): RequestFacts {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return requestFacts(method, '/bucket/object', (name) => lower[name] ?? (name === 'host' ? 'example.test' : undefined));
}

function res(fields: Record<string, string | string[]>, status = 200) {
  const pairs: Array<[string, string]> = [['Date', DATE]];
  for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) pairs.push([name, v]);
  return prepareResponse(status, pairs);
}

function stored(fields: Record<string, string | string[]>, clock = clockAt(), request = req()): { policy: StoredPolicy; object: PolicyObject } {
  const verdict = storeVerdict(request, res(fields), clock.now);
  assert.ok(verdict.store, `expected storable, got ${JSON.stringify(verdict)}`);
  return { policy: new StoredPolicy(verdict.policy, clock.now), object: verdict.policy };
}

function refused(fields: Record<string, string | string[]>, request = req(), status = 200): string {
  const verdict = storeVerdict(request, res(fields, status), clockAt().now);
  assert.equal(verdict.store, false);
  return verdict.store ? '' : verdict.reason;
}

describe('cache policy (RFC 9111 shared cache)', () => {
  it('serves a fresh entry and revalidates it once max-age has passed', () => {
    const clock = clockAt();
    const { policy } = stored({ 'Cache-Control': 'max-age=60', ETag: '"a"' }, clock);
    assert.deepEqual(policy.evaluate(req()), { use: 'fresh', stale: false });
    clock.advance(61);
    assert.deepEqual(policy.evaluate(req()), { use: 'revalidate', reason: 'stale' });
  });

  it('says a revalidation was the request\'s doing (fwd=request) only when the entry was fresh (RFC 9211 §2.2)', () => {
    const clock = clockAt();
    const { policy } = stored({ 'Cache-Control': 'max-age=60', ETag: '"a"' }, clock);
    clock.advance(1); // an age of 1 s: older than max-age=0 asks
    for (const asked of ['no-cache', 'max-age=0', 'min-fresh=120']) {
      assert.deepEqual(policy.evaluate(req({ 'Cache-Control': asked })), { use: 'revalidate', reason: 'request' }, asked);
    }
    clock.advance(60);
    for (const asked of ['no-cache', 'max-age=0', 'min-fresh=120']) {
      assert.deepEqual(policy.evaluate(req({ 'Cache-Control': asked })), { use: 'revalidate', reason: 'stale' }, asked);
    }
  });

  it('reads proxy-revalidate as must-revalidate: a lifetime while fresh, no stale use after (RFC 9111 §5.2.2.8)', () => {
    const clock = clockAt();
    const { policy } = stored({ 'Cache-Control': 'max-age=600, proxy-revalidate', ETag: '"p"' }, clock);
    assert.ok(policy.ttl() > 599, 'the lifetime max-age gives');
    assert.deepEqual(policy.evaluate(req()), { use: 'fresh', stale: false });
    clock.advance(601);
    assert.deepEqual(policy.evaluate(req({ 'Cache-Control': 'max-stale' })), { use: 'revalidate', reason: 'stale' });
    assert.ok(stored({ 'Cache-Control': 'max-age=600, proxy-revalidate' }).policy.ttl() > 599, 'stored without a validator too');
    const authorized = req({ Authorization: 'Bearer t' });
    assert.equal(refused({ 'Cache-Control': 'max-age=600, proxy-revalidate' }, authorized), 'not-storable', '§3.5 does not name proxy-revalidate');
    stored({ 'Cache-Control': 'max-age=600, proxy-revalidate, must-revalidate' }, clockAt(), authorized);
  });

  it('serves a fresh must-revalidate entry without asking the backend (library regression, PR #54)', () => {
    const clock = clockAt();
    const { policy } = stored({ 'Cache-Control': 'max-age=3600, must-revalidate' }, clock);
    assert.deepEqual(policy.evaluate(req()), { use: 'fresh', stale: false });
    clock.advance(3601);
    assert.deepEqual(policy.evaluate(req({ 'Cache-Control': 'max-stale' })), { use: 'revalidate', reason: 'stale' });
  });

  it('gives immutable no invented lifetime, but skips a reload while fresh', () => {
    assert.equal(refused({ 'Cache-Control': 'immutable' }), 'no-lifetime');
    const { policy } = stored({ 'Cache-Control': 'max-age=600, immutable' });
    assert.deepEqual(policy.evaluate(req({ 'Cache-Control': 'no-cache' })), { use: 'fresh', stale: false });
    const plain = stored({ 'Cache-Control': 'max-age=600' }).policy;
    assert.deepEqual(plain.evaluate(req({ 'Cache-Control': 'no-cache' })), { use: 'revalidate', reason: 'request' });
  });

  it('judges a HEAD request as the GET it stands for', () => {
    const { policy } = stored({ 'Cache-Control': 'max-age=60' });
    assert.deepEqual(policy.evaluate(req({}, 'HEAD')), { use: 'fresh', stale: false });
    assert.equal(refused({ 'Cache-Control': 'max-age=60' }, req({}, 'HEAD')), 'method');
  });

  it('never stores Set-Cookie (and does not store such a response unless it is public)', () => {
    assert.equal(refused({ 'Cache-Control': 'max-age=60', 'Set-Cookie': 'sid=1' }), 'set-cookie');
    const prepared = res({ 'Cache-Control': 'public, max-age=60', 'Set-Cookie': ['sid=1', 'b=2'], 'X-Kept': 'yes' });
    assert.ok(storeVerdict(req(), prepared, clockAt().now).store);
    assert.deepEqual(prepared.replay.map(([n]) => n.toLowerCase()).sort(), ['cache-control', 'date', 'x-kept']);
  });

  it('stores a response to an Authorization request only with public, s-maxage or must-revalidate (§3.5)', () => {
    const auth = req({ Authorization: 'AWS4-HMAC-SHA256 Credential=SECRET' });
    assert.equal(refused({ 'Cache-Control': 'max-age=60' }, auth), 'not-storable');
    for (const cc of ['public, max-age=60', 's-maxage=60', 'max-age=60, must-revalidate']) {
      const { object } = stored({ 'Cache-Control': cc }, clockAt(), auth);
      assert.ok(!JSON.stringify(object).includes('SECRET'), 'the credential is never persisted');
    }
  });

  it('never stores private or no-store responses, nor anything for a no-store request', () => {
    assert.equal(refused({ 'Cache-Control': 'private, max-age=60' }), 'not-storable');
    assert.equal(refused({ 'Cache-Control': 'no-store' }), 'not-storable');
    assert.equal(refused({ 'Cache-Control': 'max-age=60' }, req({ 'Cache-Control': 'no-store' })), 'not-storable');
  });

  it('drops only the named fields for no-cache="field" and private="field"', () => {
    const prepared = res({ 'Cache-Control': 'max-age=60, no-cache="X-Secret", private="x-user"', 'X-Secret': 's', 'X-User': 'u', 'X-Ok': 'o' });
    assert.deepEqual(prepared.replay.map(([n]) => n).sort(), ['Cache-Control', 'Date', 'X-Ok']);
    const { policy } = stored({ 'Cache-Control': 'max-age=60, no-cache="X-Secret"', 'X-Secret': 's' });
    assert.deepEqual(policy.evaluate(req()), { use: 'fresh', stale: false });
  });

  it('lets s-maxage win over max-age and Expires, and forbids stale use after it', () => {
    const clock = clockAt();
    const expires = new Date(T0 + 10_000).toUTCString();
    const { policy } = stored({ 'Cache-Control': 'max-age=5, s-maxage=600', Expires: expires }, clock);
    clock.advance(300);
    assert.deepEqual(policy.evaluate(req()), { use: 'fresh', stale: false });
    clock.advance(301);
    assert.deepEqual(policy.evaluate(req({ 'Cache-Control': 'max-stale' })), { use: 'revalidate', reason: 'stale' });
  });

  it('reads directives case-insensitively (§5.2)', () => {
    assert.equal(refused({ 'Cache-Control': 'No-Store, Max-Age=60' }), 'not-storable');
    const { policy } = stored({ 'Cache-Control': 'MAX-AGE=60' });
    assert.ok(policy.ttl() > 59);
    assert.deepEqual(policy.evaluate(req({ 'Cache-Control': 'NO-CACHE' })), { use: 'revalidate', reason: 'request' });
  });

  it('stores nothing without a lifetime or a validator, unless a heuristic gives one', () => {
    assert.equal(refused({}), 'no-lifetime');
    stored({ ETag: '"v1"' }); // no lifetime, but it can be revalidated
    const tenDaysAgo = new Date(T0 - 10 * 86_400_000).toUTCString();
    const { policy } = stored({ 'Last-Modified': tenDaysAgo });
    assert.equal(Math.round(policy.ttl()), 86_400, '10% of the time since Last-Modified');
  });

  it('ignores unknown request directives instead of bypassing', () => {
    const { policy } = stored({ 'Cache-Control': 'max-age=60' });
    assert.deepEqual(policy.evaluate(req({ 'Cache-Control': 'x-made-up, another="1"' })), { use: 'fresh', stale: false });
  });

  it('honours the request directives max-age, min-fresh and max-stale', () => {
    const clock = clockAt();
    const { policy } = stored({ 'Cache-Control': 'max-age=60' }, clock);
    clock.advance(30);
    assert.equal(policy.evaluate(req({ 'Cache-Control': 'max-age=10' })).use, 'revalidate');
    assert.equal(policy.evaluate(req({ 'Cache-Control': 'min-fresh=40' })).use, 'revalidate');
    assert.equal(policy.evaluate(req({ 'Cache-Control': 'min-fresh=20' })).use, 'fresh');
    clock.advance(40);
    assert.deepEqual(policy.evaluate(req({ 'Cache-Control': 'max-stale=20' })), { use: 'fresh', stale: true });
    assert.equal(policy.evaluate(req({ 'Cache-Control': 'max-stale=5' })).use, 'revalidate');
  });

  it('treats Pragma: no-cache as no-cache only when the request has no Cache-Control', () => {
    const { policy } = stored({ 'Cache-Control': 'max-age=60' });
    assert.equal(policy.evaluate(req({ Pragma: 'no-cache' })).use, 'revalidate');
    assert.equal(policy.evaluate(req({ Pragma: 'no-cache', 'Cache-Control': 'max-age=100' })).use, 'fresh');
  });
});

describe('stale-while-revalidate and stale-if-error (RFC 5861)', () => {
  it('serves stale within stale-while-revalidate, then revalidates', () => {
    const clock = clockAt();
    const { policy } = stored({ 'Cache-Control': 'max-age=10, stale-while-revalidate=30' }, clock);
    clock.advance(20);
    assert.deepEqual(policy.evaluate(req()), { use: 'stale-while-revalidate' });
    clock.advance(25);
    assert.deepEqual(policy.evaluate(req()), { use: 'revalidate', reason: 'stale' });
  });

  it('allows a stale entry on error within stale-if-error, even with must-revalidate', () => {
    const clock = clockAt();
    const { policy } = stored({ 'Cache-Control': 'max-age=10, must-revalidate, stale-if-error=60' }, clock);
    clock.advance(50);
    assert.equal(policy.usableOnError(req(), 0), true);
    clock.advance(30);
    assert.equal(policy.usableOnError(req(), 0), false);
  });

  it('takes stale-if-error from the request too', () => {
    const clock = clockAt();
    const { policy } = stored({ 'Cache-Control': 'max-age=10' }, clock);
    clock.advance(40);
    assert.equal(policy.usableOnError(req(), 0), false);
    assert.equal(policy.usableOnError(req({ 'Cache-Control': 'stale-if-error=60' }), 0), true);
  });

  it("applies the operator's --cache-serve-stale-on-error only where stale use is not forbidden", () => {
    const clock = clockAt();
    const plain = stored({ 'Cache-Control': 'max-age=10' }, clock).policy;
    const strict = stored({ 'Cache-Control': 'max-age=10, must-revalidate' }, clock).policy;
    clock.advance(70);
    assert.equal(plain.usableOnError(req(), 120_000), true);
    assert.equal(plain.usableOnError(req(), 30_000), false);
    assert.equal(strict.usableOnError(req(), 120_000), false);
  });
});

describe('targeted cache control (RFC 9213)', () => {
  it('prefers Outrigger-Cache-Control, then CDN-Cache-Control, over Cache-Control and Expires', () => {
    const clock = clockAt();
    const expires = new Date(T0 + 3_600_000).toUTCString();
    assert.equal(refused({ 'Cache-Control': 'max-age=600', 'CDN-Cache-Control': 'no-store' }), 'not-storable');
    const cdn = stored({ 'Cache-Control': 'no-store', 'CDN-Cache-Control': 'max-age=30', Expires: expires }, clock).policy;
    assert.equal(Math.round(cdn.ttl()), 30);
    const ours = stored({ 'CDN-Cache-Control': 'max-age=30', 'Outrigger-Cache-Control': 'max-age=90', 'Cache-Control': 'private' }, clock).policy;
    assert.equal(Math.round(ours.ttl()), 90);
  });

  it('ignores a targeted field that is not a Structured Fields Dictionary (RFC 9213 §2.2)', () => {
    const fields = (cdn: string): Record<string, string> => ({ 'cdn-cache-control': cdn, 'cache-control': 'max-age=5' });
    for (const malformed of ['Max-Age=60', 'max-age=60,,', 'max-age=sixty seconds', 'max-age="60', 'no-store;', '=60']) {
      assert.equal(effectiveControl((n) => fields(malformed)[n]).targeted, undefined, malformed);
    }
    const valid = effectiveControl((n) => fields('max-age=60, stale-if-error=30, private="x-a"')[n]);
    assert.equal(valid.targeted, 'cdn-cache-control');
    assert.deepEqual([...valid.directives], [['max-age', '60'], ['stale-if-error', '30'], ['private', 'x-a']]);
    assert.equal(refused({ 'Cache-Control': 'no-store', 'CDN-Cache-Control': 'Max-Age=600' }), 'not-storable', 'Cache-Control applies');
    assert.equal(refused({ 'Cache-Control': 'max-age=600', 'CDN-Cache-Control': 'no-store', 'Outrigger-Cache-Control': 'max-age=600,' }), 'not-storable',
      'a malformed Outrigger-Cache-Control gives way to CDN-Cache-Control');
  });

  it('falls back to Cache-Control when the targeted field is empty', () => {
    assert.equal(effectiveControl((n) => ({ 'cdn-cache-control': ' ', 'cache-control': 'max-age=5' } as Record<string, string>)[n]).targeted, undefined);
  });
});

describe('revalidation', () => {
  it('asks with the stored validators and keeps the body on a matching 304 with the new lifetime', () => {
    const clock = clockAt();
    const { policy } = stored({ 'Cache-Control': 'max-age=10', ETag: '"v1"', 'Last-Modified': DATE }, clock);
    assert.deepEqual(policy.validators(), { 'if-none-match': '"v1"', 'if-modified-since': DATE });
    clock.advance(20);
    const answer = prepareResponse(304, [['ETag', '"v1"'], ['Cache-Control', 'max-age=600'], ['Date', new Date(clock.now()).toUTCString()]]);
    const next = policy.revalidated(req(), answer);
    assert.equal(next.matches, true);
    assert.ok(new StoredPolicy(next.policy, clock.now).ttl() > 590);
  });

  it('treats a changed validator as a new response', () => {
    const clock = clockAt();
    const { policy } = stored({ 'Cache-Control': 'max-age=10', ETag: '"v1"' }, clock);
    const changed = prepareResponse(200, [['ETag', '"v2"'], ['Cache-Control', 'max-age=600']]);
    assert.equal(policy.revalidated(req(), changed).matches, false);
  });
});

describe('vary', () => {
  it('normalises field names and list values, so reordered values select the same variant', () => {
    assert.deepEqual(varyFields('Accept-Encoding, accept-language,ACCEPT-ENCODING'), ['accept-encoding', 'accept-language']);
    assert.deepEqual(varyFields('Accept, *'), ['*']);
    assert.equal(normaliseVaryValue('br,  GZIP'), normaliseVaryValue('gzip, br'));
    const a = variantId(['accept-encoding'], () => 'br, gzip');
    const b = variantId(['accept-encoding'], () => 'gzip,br');
    const c = variantId(['accept-encoding'], () => 'identity');
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  it('never stores Vary: *', () => {
    assert.equal(refused({ 'Cache-Control': 'max-age=60', Vary: '*' }), 'vary-star');
  });

  it('keeps no request header value in the stored policy', () => {
    const request = req({ Cookie: 'session=SECRET', 'Accept-Encoding': 'gzip' });
    const { object } = stored({ 'Cache-Control': 'max-age=60', Vary: 'Accept-Encoding, Cookie' }, clockAt(), request);
    assert.ok(!JSON.stringify(object).includes('SECRET'));
    assert.ok(!JSON.stringify(object).includes('gzip'));
  });
});

describe('directives and Cache-Status', () => {
  it('parses quoted arguments with commas and keeps the first duplicate', () => {
    const d = parseDirectives('no-cache="a, B", MAX-AGE=5, max-age=9');
    assert.equal(d.get('no-cache'), 'a, B');
    assert.equal(d.get('max-age'), '5');
  });

  it('formats RFC 9211 members and appends ours after those nearer the origin', () => {
    assert.equal(formatCacheStatus({ hit: true, ttl: 42.7 }), 'Outrigger; hit; ttl=42');
    assert.equal(formatCacheStatus({ fwd: 'miss', stored: true }), 'Outrigger; fwd=miss; stored');
    assert.equal(formatCacheStatus({ fwd: 'stale', fwdStatus: 304, ttl: 600 }), 'Outrigger; fwd=stale; fwd-status=304; ttl=600');
    assert.equal(appendCacheStatus('OriginCache; hit', { fwd: 'uri-miss' }), 'OriginCache; hit, Outrigger; fwd=uri-miss');
  });
});
