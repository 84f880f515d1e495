/**
 * RFC 9111 / 5861 / 9211 / 9213 behaviours of the shared cache through the real CLI, against a
 * real S3 store (Swift + s3api) and a real backend whose answers each test scripts per path:
 * revalidation outcomes (404/410, a 304 that does not match, a new 200), Vary variants,
 * stale-if-error after a 5xx, Set-Cookie, targeted Cache-Control fields and hop-by-hop fields.
 * Every test runs for HTTP/1.1 and HTTP/2 clients (one CLI each, paths under /h1/ and /h2/, so the
 * backend's per-path counts stay apart). Skipped where Swift is missing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Fixtures } from './support/fixtures.js';
import { PROTOCOLS, short, type ProtocolClient, type Reply } from './support/protocols.js';
import { cacheBed, startCacheNode } from './support/cache-node.js';
import { swiftMissing } from './support/swift.js';
import { cacheStatus, cachedStatus as cachedStatusOf, doc, ScriptedOrigin, untilStored, type Script } from './support/scripted-origin.js';
import { waitFor } from './support/wait.js';

const skip = swiftMissing();
const fx = new Fixtures();
const origin = new ScriptedOrigin();
const scripts = origin.scripts;
const count = (path: string): number => origin.count(path);
const status = cacheStatus;

/** The client of the suite running now (suites run one after the other). */
let client: ProtocolClient;
const stored = (path: string, headers: Record<string, string> = {}, cc?: string): Promise<Reply> => untilStored(client, path, headers, cc);
const cachedStatus = (path: string, headers: Record<string, string> = {}): Promise<number> => cachedStatusOf(client, path, headers);

let args: string[] = [];
before(async () => {
  if (skip !== undefined) return;
  args = (await cacheBed(fx, 'rfc', origin.handler, 'rfc-origin')).args(['--cache-memory', '0']);
});

for (const protocol of PROTOCOLS) describe(`cache RFC behaviours through the CLI, ${protocol} clients`, { skip, timeout: 180_000 }, () => {
  /** This suite's own path for `path`. */
  const at = (path: string): string => `/${short(protocol)}${path}`;
  before(async () => {
    ({ client } = await startCacheNode(fx, protocol, args));
  });

  for (const gone of [404, 410]) {
    test(`a revalidation answered ${gone} evicts the entry and relays the ${gone}`, async () => {
      const path = at(`/gone-${gone}`);
      scripts.set(path, doc('version 1', '"g1"', 'max-age=0'));
      await client.call({ path });
      assert.equal((await stored(path)).text, 'version 1');
      scripts.set(path, () => ({ status: gone, fields: { 'Content-Type': 'text/plain' }, body: 'gone' }));
      const answer = await client.call({ path });
      assert.deepEqual([answer.status, answer.text], [gone, 'gone']);
      assert.match(status(answer), /fwd=stale/);
      assert.equal(await cachedStatus(path), 504, 'the entry is evicted');
    });
  }

  test('a 304 whose validator does not match the stored entry evicts it and answers 502', async () => {
    const path = at('/mismatch');
    scripts.set(path, doc('version 1', '"m1"', 'max-age=0'));
    await client.call({ path });
    await stored(path);
    scripts.set(path, () => ({ status: 304, fields: { ETag: '"m2"', 'Cache-Control': 'max-age=600' } }));
    const answer = await client.call({ path });
    assert.equal(answer.status, 502);
    assert.equal(await cachedStatus(path), 504, 'the entry is evicted');
    assert.equal(count(path), 2);
  });

  test('a revalidation answered 200 with a new ETag replaces the entry', async () => {
    const path = at('/replaced');
    scripts.set(path, doc('version 1', '"r1"', 'max-age=0'));
    await client.call({ path });
    await stored(path);
    scripts.set(path, doc('version 2, longer', '"r2"', 'max-age=600'));
    const answer = await client.call({ path });
    assert.deepEqual([answer.status, answer.text], [200, 'version 2, longer']);
    assert.equal(status(answer), 'Outrigger; fwd=stale; stored');
    await waitFor(async () => (await client.call({ path, headers: { 'cache-control': 'only-if-cached' } })).text === 'version 2, longer', 30_000, 'the new entry');
    const hit = await client.call({ path });
    assert.deepEqual([hit.text, hit.headers.etag], ['version 2, longer', '"r2"']);
    assert.match(status(hit), /^Outrigger; hit; ttl=\d+$/);
    assert.equal(count(path), 2, 'the hits did not reach the backend');
  });

  test('Vary: two variants are stored and each served to its own requests; other values go to the backend', async () => {
    const path = at('/vary');
    scripts.set(path, (req) => {
      const language = String(req.headers['accept-language'] ?? 'none');
      return { status: 200, fields: { 'Content-Type': 'text/plain', ETag: `"v-${language}"`, 'Cache-Control': 'max-age=600', Vary: 'Accept-Language' }, body: `in ${language}` };
    });
    const en = { 'accept-language': 'en' };
    const de = { 'accept-language': 'de' };
    assert.equal((await client.call({ path, headers: en })).text, 'in en');
    await stored(path, en, 'only-if-cached');
    assert.equal(await cachedStatus(path, de), 504, 'the en variant does not answer de');
    const deMiss = await client.call({ path, headers: de });
    assert.equal(deMiss.text, 'in de');
    assert.match(status(deMiss), /^Outrigger; fwd=(uri|vary)-miss; stored$/);
    await stored(path, de, 'only-if-cached');
    const before = count(path);
    for (const [headers, text] of [[en, 'in en'], [de, 'in de'], [{ 'accept-language': 'EN' }, 'in en']] as const) {
      const hit = await client.call({ path, headers });
      assert.deepEqual([hit.status, hit.text], [200, text], JSON.stringify(headers));
      assert.match(status(hit), /hit/);
      assert.equal(hit.headers.vary, 'Accept-Language');
    }
    assert.equal(count(path), before, 'both variants answered from the cache');
    const fr = await client.call({ path, headers: { 'accept-language': 'fr' } });
    assert.equal(fr.text, 'in fr');
    assert.doesNotMatch(status(fr), /hit/);
    assert.equal(count(path), before + 1);
  });

  test('stale-if-error: a 5xx answer to a revalidation serves the stale entry; without it the 5xx is relayed', async () => {
    const allowed = at('/sie-5xx');
    const plain = at('/plain-5xx');
    scripts.set(allowed, doc('version 1', '"s1"', 'max-age=0, stale-if-error=3600'));
    scripts.set(plain, doc('version 1', '"p1"', 'max-age=0'));
    await client.call({ path: allowed });
    await client.call({ path: plain });
    await stored(allowed);
    await stored(plain);
    const failing: Script = () => ({ status: 503, fields: { 'Content-Type': 'text/plain' }, body: 'overloaded' });
    scripts.set(allowed, failing);
    scripts.set(plain, failing);
    const stale = await client.call({ path: allowed });
    assert.deepEqual([stale.status, stale.text], [200, 'version 1']);
    assert.match(status(stale), /^Outrigger; fwd=stale; fwd-status=503; .*detail=stale-if-error/);
    const relayed = await client.call({ path: plain });
    assert.deepEqual([relayed.status, relayed.text], [503, 'overloaded']);
    assert.equal(count(allowed), 2);
  });

  test('Set-Cookie is never stored or replayed; a response with it is stored only if public', async () => {
    const shared = at('/cookie-public');
    const own = at('/cookie-private');
    scripts.set(shared, doc('public doc', '"c1"', 'public, max-age=600', { 'Set-Cookie': 'session=secret' }));
    scripts.set(own, doc('own doc', '"c2"', 'max-age=600', { 'Set-Cookie': 'session=secret' }));
    const first = await client.call({ path: shared });
    assert.equal(first.headers['set-cookie']?.toString(), 'session=secret', 'the first client gets its cookie');
    const hit = await stored(shared, {}, 'only-if-cached');
    assert.equal(hit.text, 'public doc');
    assert.equal(hit.headers['set-cookie'], undefined, 'no cookie replayed from the cache');
    assert.equal(count(shared), 1);
    await client.call({ path: own });
    const again = await client.call({ path: own });
    assert.equal(again.headers['set-cookie']?.toString(), 'session=secret');
    assert.doesNotMatch(status(again), /hit/);
    assert.equal(count(own), 2, 'not stored without public');
  });

  test('CDN-Cache-Control wins over Cache-Control, Outrigger-Cache-Control over both (RFC 9213)', async () => {
    const cases: Array<{ path: string; fields: Record<string, string>; hits: boolean }> = [
      { path: at('/cdn-stores'), fields: { 'Cache-Control': 'no-store', 'CDN-Cache-Control': 'max-age=600' }, hits: true },
      { path: at('/cdn-refuses'), fields: { 'Cache-Control': 'max-age=600', 'CDN-Cache-Control': 'no-store' }, hits: false },
      { path: at('/ours-stores'), fields: { 'Cache-Control': 'no-store', 'CDN-Cache-Control': 'no-store', 'Outrigger-Cache-Control': 'max-age=600' }, hits: true },
      { path: at('/ours-refuses'), fields: { 'Cache-Control': 'max-age=600', 'CDN-Cache-Control': 'max-age=600', 'Outrigger-Cache-Control': 'no-store' }, hits: false },
    ];
    for (const { path, fields } of cases) scripts.set(path, () => ({ status: 200, fields: { 'Content-Type': 'text/plain', ETag: '"t"', ...fields }, body: path }));
    for (const { path } of cases) await client.call({ path });
    for (const { path, fields, hits } of cases) {
      if (hits) {
        const hit = await stored(path, {}, 'only-if-cached');
        assert.deepEqual([hit.text, status(hit).startsWith('Outrigger; hit')], [path, true], path);
        assert.equal(hit.headers['outrigger-cache-control'], undefined, 'our own field is not replayed');
        assert.equal(hit.headers['cache-control'], fields['Cache-Control'], 'Cache-Control is replayed as the backend sent it');
      } else {
        const again = await client.call({ path });
        assert.equal(again.text, path);
        assert.doesNotMatch(status(again), /hit|stored/, path);
      }
      assert.equal(count(path), hits ? 1 : 2, path);
    }
  });

  test('hop-by-hop fields (Keep-Alive, those named by Connection) are not stored', async () => {
    const path = at('/hop');
    scripts.set(path, () => ({
      status: 200,
      fields: { 'Content-Type': 'text/plain', ETag: '"h"', 'Cache-Control': 'max-age=600', Connection: 'X-Hop', 'X-Hop': 'per-connection', 'Keep-Alive': 'timeout=99', 'X-End': 'kept' },
      body: 'hop',
    }));
    await client.call({ path });
    const hit = await stored(path, {}, 'only-if-cached');
    assert.deepEqual([hit.text, hit.headers['x-end']], ['hop', 'kept']);
    assert.equal(hit.headers['x-hop'], undefined, 'a field named by Connection is not replayed');
    assert.notEqual(hit.headers['keep-alive'], 'timeout=99', 'the backend\'s Keep-Alive is not replayed');
    assert.equal(count(path), 1);
  });

  test('an unqualified no-cache response is stored but revalidated on every request; a 304 serves the stored body', async () => {
    const path = at('/no-cache');
    scripts.set(path, doc('kept body', '"n1"', 'no-cache, max-age=600'));
    await client.call({ path });
    // Never usable without the backend, so only a revalidation shows the entry is stored.
    let revalidated = await client.call({ path });
    await waitFor(async () => {
      if (origin.requests(path).at(-1)?.['if-none-match'] === '"n1"') return true;
      revalidated = await client.call({ path });
      return false;
    }, 30_000, 'a revalidation with the stored ETag', 50);
    assert.deepEqual([revalidated.status, revalidated.text], [200, 'kept body'], 'the stored body, after a 304');
    assert.match(status(revalidated), /^Outrigger; fwd=stale; fwd-status=304/);
    const before = count(path);
    const again = await client.call({ path });
    assert.equal(again.text, 'kept body');
    assert.equal(count(path), before + 1, 'asked again: no-cache is never served unvalidated');
    assert.equal(await cachedStatus(path), 504, 'not even to a request that accepts stale responses');
  });

  test('a Range request on a stale entry goes to the backend as asked; the entry is kept', async () => {
    const path = at('/stale-range');
    const text = 'abcdefghijklmnopqrstuvwxyz';
    const fields = { 'Content-Type': 'text/plain', ETag: '"sr"', 'Cache-Control': 'max-age=0' };
    scripts.set(path, (req) => (req.headers.range === 'bytes=2-5'
      ? { status: 206, fields: { ...fields, 'Content-Range': `bytes 2-5/${text.length}` }, body: text.slice(2, 6) }
      : { status: 200, fields, body: text }));
    await client.call({ path });
    await stored(path);
    const ranged = await client.call({ path, headers: { range: 'bytes=2-5' } });
    assert.deepEqual([ranged.status, ranged.text, ranged.headers['content-range']], [206, 'cdef', `bytes 2-5/${text.length}`]);
    assert.match(status(ranged), /fwd=stale/);
    const asked = origin.requests(path).at(-1)!;
    assert.deepEqual([asked.range, asked['if-none-match']], ['bytes=2-5', undefined], 'the range as asked, without the entry\'s validators');
    assert.equal(count(path), 2);
    const kept = await client.call({ path, headers: { 'cache-control': 'only-if-cached, max-stale' } });
    assert.deepEqual([kept.status, kept.text], [200, text], 'the whole entry is still stored');
  });

  test('a response other than 200 is not stored, even with a lifetime (only whole 200 responses are)', async () => {
    const path = at('/not-found');
    scripts.set(path, () => ({ status: 404, fields: { 'Content-Type': 'text/plain', 'Cache-Control': 'max-age=600', ETag: '"nf"' }, body: 'no such thing' }));
    const first = await client.call({ path });
    assert.doesNotMatch(status(first), /stored/);
    const again = await client.call({ path });
    assert.deepEqual([again.status, again.text], [404, 'no such thing']);
    assert.doesNotMatch(status(again), /hit|stored/);
    assert.equal(count(path), 2);
  });
});
