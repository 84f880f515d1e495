/**
 * The stale-while-revalidate refresh (RFC 5861 §3) runs once per URL and variant, through the real
 * CLI against a real S3 store: stale hits that come together, or while the refresh's answer is
 * being written to the store (it reaches the sidecar first), ask the backend no second time.
 * Skipped where Swift is missing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Fixtures } from './support/fixtures.js';
import type { ProtocolClient, Reply } from './support/protocols.js';
import { cacheBed, startCacheNode } from './support/cache-node.js';
import { swiftMissing } from './support/swift.js';
import { cacheStatus, ScriptedOrigin, untilStored, type Scripted } from './support/scripted-origin.js';
import { waitFor } from './support/wait.js';

const skip = swiftMissing();
const fx = new Fixtures();
const origin = new ScriptedOrigin();

let client: ProtocolClient;
before(async () => {
  if (skip !== undefined) return;
  const bed = await cacheBed(fx, 'refresh', origin.handler, 'refresh-origin');
  // No memory tier: every hit reads the store, where the refreshed version appears last.
  ({ client } = await startCacheNode(fx, 'http/1.1', bed.args(['--cache-memory', '0'])));
});

/**
 * A document fresh for 1 s (then stale-while-revalidate) at first, fresh for 10 minutes once
 * asked again; `revalidated`: the second answer is a 304 to the stored ETag, else a new 200.
 */
function script(path: string, revalidated: boolean): void {
  origin.scripts.set(path, (req): Scripted => {
    const first = origin.count(path) === 1;
    const cc = first ? 'max-age=1, stale-while-revalidate=600' : 'max-age=600';
    if (revalidated && req.headers['if-none-match'] === '"v1"') return { status: 304, fields: { ETag: '"v1"', 'Cache-Control': cc } };
    return { status: 200, fields: { 'Content-Type': 'text/plain', ETag: first ? '"v1"' : '"v2"', 'Cache-Control': cc }, body: first ? 'version 1' : 'version 2' };
  });
}

describe('stale-while-revalidate: one background refresh per URL and variant', { skip, timeout: 180_000 }, () => {
  for (const revalidated of [false, true]) test(`stale hits together and one after another until the refreshed entry is stored ask the backend once (${revalidated ? 'a 304' : 'a new 200'})`, async () => {
    const path = `/swr/${revalidated ? '304' : '200'}`;
    script(path, revalidated);
    await client.call({ path });
    await untilStored(client, path, {}, 'only-if-cached');
    // max-stale takes a stale entry as it is (no refresh): wait until it is a second past fresh.
    await waitFor(async () => /ttl=-\d/.test(cacheStatus(await client.call({ path, headers: { 'cache-control': 'only-if-cached, max-stale' } }))), 20_000, 'the entry to be stale', 100);
    assert.equal(origin.count(path), 1);
    let stale = 0;
    /** Whether `reply` is the refreshed entry; else it must be the stale one, served at once. */
    const refreshed = (reply: Reply): boolean => {
      if (/stale-while-revalidate/.test(cacheStatus(reply))) {
        assert.equal(reply.text, 'version 1');
        stale++;
        return false;
      }
      // A store call late on a loaded machine: this one went on without the cache (fwd=bypass), no answer yet.
      if (/fwd=bypass/.test(cacheStatus(reply))) return false;
      // The new version: a hit, or (a read that found the body replaced under the metadata it read) a miss.
      assert.equal(reply.text, revalidated ? 'version 1' : 'version 2', cacheStatus(reply));
      assert.doesNotMatch(cacheStatus(reply), /detail=stale/);
      return true;
    };
    (await Promise.all(Array.from({ length: 10 }, () => client.call({ path })))).forEach(refreshed);
    // Then one after another, as fast as they come, until the refreshed entry is served.
    await waitFor(async () => refreshed(await client.call({ path })), 30_000, 'the refreshed entry', 5);
    assert.ok(stale >= 1);
    const refreshes = origin.requests(path).filter((fields) => fields['cache-control'] === 'max-age=0').length;
    assert.equal(refreshes, 1, `${stale} stale hits made one refresh`);
  });
});
