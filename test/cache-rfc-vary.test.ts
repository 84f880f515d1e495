/**
 * Vary (RFC 9111 §4.1) where it meets the cache's other machinery, through the real CLI against a
 * real S3 store (Swift + s3api), for HTTP/1.1 and HTTP/2 clients: concurrent misses collapsed per
 * variant, the stale-while-revalidate refresh of one variant, and a 304 that updates one variant's
 * stored fields. Skipped where Swift is missing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Fixtures } from './support/fixtures.js';
import { PROTOCOLS, type ProtocolClient } from './support/protocols.js';
import { cacheBed, startCacheNode } from './support/cache-node.js';
import { swiftMissing } from './support/swift.js';
import { cacheStatus, cachedStatus, ScriptedOrigin, untilStored } from './support/scripted-origin.js';
import { waitFor } from './support/wait.js';

const skip = swiftMissing();
const fx = new Fixtures();
const origin = new ScriptedOrigin();
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let args: string[] = [];
before(async () => {
  if (skip !== undefined) return;
  args = (await cacheBed(fx, 'vary', origin.handler, 'vary-origin')).args(['--cache-memory', '0']);
});

/** How many requests for `path` reached the backend with `field` set to `value`. */
function asked(path: string, field: string, value: string): number {
  return origin.requests(path).filter((fields) => fields[field] === value).length;
}

for (const protocol of PROTOCOLS) describe(`cache Vary with collapsing, stale-while-revalidate and 304, ${protocol} clients`, { skip, timeout: 180_000 }, () => {
  let client: ProtocolClient;
  const at = (path: string): string => `/${protocol === 'h2' ? 'h2' : 'h1'}${path}`;
  before(async () => {
    ({ client } = await startCacheNode(fx, protocol, args));
  });
  /** Fetches each variant of `path` once, then waits until the cache holds every one of them. */
  const storeVariants = async (path: string, variants: ReadonlyArray<Record<string, string>>): Promise<void> => {
    for (const headers of variants) await client.call({ path, headers });
    for (const headers of variants) await untilStored(client, path, headers);
  };

  test('20 concurrent misses with two Accept-Encoding values: each gets its own variant\'s bytes, the backend is asked once per variant', async () => {
    const path = at('/collapse');
    const bodies = { gzip: randomBytes(256 * 1024), br: randomBytes(256 * 1024) };
    // A slow origin: the head after 300 ms, the body in 8 pieces 30 ms apart, so every request arrives while a fetch runs.
    origin.scripts.set(path, (req, res) => {
      const body = bodies[req.headers['accept-encoding'] as keyof typeof bodies];
      setTimeout(() => {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, 'Cache-Control': 'max-age=600', Vary: 'Accept-Encoding' });
        let at = 0;
        const next = (): void => {
          if (at >= body.length) { res.end(); return; }
          res.write(body.subarray(at, at += body.length / 8));
          setTimeout(next, 30);
        };
        next();
      }, 300);
      return undefined;
    });
    const encodings = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'gzip' : 'br') as keyof typeof bodies);
    const replies = await Promise.all(encodings.map((encoding) => client.call({ path, headers: { 'accept-encoding': encoding } })));
    replies.forEach((reply, i) => {
      assert.equal(reply.status, 200);
      assert.equal(sha(reply.body), sha(bodies[encodings[i]!]), `request ${i} (${encodings[i]}) got its own variant's bytes`);
    });
    assert.equal(asked(path, 'accept-encoding', 'gzip'), 1, 'one backend fetch for gzip');
    assert.equal(asked(path, 'accept-encoding', 'br'), 1, 'one backend fetch for br');
    const own = replies.filter((r) => !/collapsed|hit/.test(cacheStatus(r)));
    assert.equal(own.length, 2, 'all but the two leaders followed a fetch (or, arriving late, hit its entry)');
  });

  test('stale-while-revalidate on a Vary URL: the background refresh asks with that variant\'s request fields and refreshes that variant only', async () => {
    const path = at('/swr');
    // Each answer is a new version; a tier's first one is fresh for 1 s, then stale-while-revalidate.
    origin.scripts.set(path, (req) => {
      const tier = String(req.headers['x-tier'] ?? 'none');
      const version = asked(path, 'x-tier', tier);
      const cc = version === 1 ? 'max-age=1, stale-while-revalidate=600' : 'max-age=600';
      return { status: 200, fields: { 'Content-Type': 'text/plain', ETag: `"${tier}-${version}"`, 'Cache-Control': cc, Vary: 'X-Tier' }, body: `${tier} v${version}` };
    });
    const gold = { 'x-tier': 'gold' };
    const silver = { 'x-tier': 'silver' };
    await storeVariants(path, [gold, silver]);
    let stale = '';
    await waitFor(async () => {
      const reply = await client.call({ path, headers: gold });
      stale = reply.text;
      return /stale-while-revalidate/.test(cacheStatus(reply));
    }, 20_000, 'the gold variant served stale', 50);
    assert.equal(stale, 'gold v1', 'the stale gold variant is served at once');
    await waitFor(() => origin.count(path) === 3, 20_000, 'the background refresh to reach the backend');
    const refresh = origin.requests(path)[2]!;
    assert.equal(refresh['x-tier'], 'gold', 'the refresh carries the variant\'s Vary field');
    assert.equal(refresh['if-none-match'], '"gold-1"', 'the refresh revalidates the gold entry');
    // max-stale: the stale entry is read as it is until the refreshed one lands, with no second refresh started meanwhile.
    await waitFor(async () => (await client.call({ path, headers: { ...gold, 'cache-control': 'only-if-cached, max-stale' } })).text === 'gold v2', 30_000, 'the refreshed gold variant');
    const refreshed = await client.call({ path, headers: gold });
    assert.deepEqual([refreshed.text, refreshed.headers.etag], ['gold v2', '"gold-2"']);
    assert.match(cacheStatus(refreshed), /^Outrigger; hit; ttl=\d+$/);
    const untouched = await client.call({ path, headers: { ...silver, 'cache-control': 'only-if-cached, max-stale' } });
    assert.deepEqual([untouched.status, untouched.text, untouched.headers.etag], [200, 'silver v1', '"silver-1"'], 'the silver variant is untouched');
    assert.equal(asked(path, 'x-tier', 'silver'), 1);
    assert.equal(origin.count(path), 3, 'no other request reached the backend');
  });

  test('a 304 revalidating one Vary variant updates that variant\'s stored fields and lifetime; the other variant is untouched', async () => {
    const path = at('/merge');
    origin.scripts.set(path, (req) => {
      const language = String(req.headers['accept-language']);
      const etag = `"${language}"`;
      const fields: Record<string, string> = req.headers['if-none-match'] === etag
        ? { ETag: etag, 'Cache-Control': 'max-age=600', 'X-Rev': '2' }
        : { 'Content-Type': 'text/plain', ETag: etag, 'Cache-Control': 'max-age=0', Vary: 'Accept-Language', 'X-Rev': '1' };
      return { status: fields['X-Rev'] === '2' ? 304 : 200, fields, body: `in ${language}` };
    });
    const en = { 'accept-language': 'en' };
    const de = { 'accept-language': 'de' };
    await storeVariants(path, [en, de]);
    const revalidated = await client.call({ path, headers: en });
    assert.deepEqual([revalidated.status, revalidated.text, revalidated.headers['x-rev']], [200, 'in en', '2']);
    assert.match(cacheStatus(revalidated), /^Outrigger; fwd=stale; fwd-status=304; ttl=\d+$/);
    // The merged metadata is written in the background: poll for it, taking only fresh entries.
    await waitFor(async () => (await client.call({ path, headers: { ...en, 'cache-control': 'only-if-cached' } })).headers['x-rev'] === '2', 30_000, 'the en variant updated');
    const hit = await client.call({ path, headers: en });
    assert.deepEqual([hit.text, hit.headers['x-rev'], hit.headers['content-type']], ['in en', '2', 'text/plain'], 'updated fields, stored body and the fields the 304 did not carry');
    assert.match(cacheStatus(hit), /^Outrigger; hit; ttl=(\d+)$/);
    assert.equal(await cachedStatus(client, path, de), 200, 'the de variant is still stored');
    const other = await client.call({ path, headers: { ...de, 'cache-control': 'only-if-cached, max-stale' } });
    assert.deepEqual([other.text, other.headers['x-rev']], ['in de', '1'], 'the de variant keeps its own fields');
    const notFresh = await client.call({ path, headers: { ...de, 'cache-control': 'only-if-cached' } });
    assert.equal(notFresh.status, 504, 'the de variant kept its own lifetime (still stale)');
    assert.deepEqual([asked(path, 'accept-language', 'en'), asked(path, 'accept-language', 'de')], [2, 1]);
  });
});
