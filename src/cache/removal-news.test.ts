/**
 * Removals as another sidecar of the store hears of them, against a real S3 server (Swift +
 * s3api). A purge by URL prefix: one listing of the host, every variant of every URL under the
 * prefix deleted and nothing else; told to the cluster as its prefix when it begins and ends; and what
 * the other sidecar holds under the prefix (memory tier, remembered metadata, running fetches,
 * fills begun before) dropped from that one message. A fill the other sidecar saved after the
 * removal's deletion and before its news arrived: deleted when the news arrives.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestView } from '../proxy/pipeline.js';
import { CacheNews, decodeNews, peerNotice, storeIdOf, type RemovalNews } from './cache-news.js';
import { Entries } from './entries.js';
import type { Entry } from './entry.js';
import { CacheFilter } from './filter.js';
import type { FilterState } from './filter-state.js';
import { BODY, entryKeys, hostDir, variantDir, type EntryKeys } from './key.js';
import { MemoryTier } from './memory-tier.js';
import { prepareResponse, requestFacts, storeVerdict } from './policy.js';
import { CacheStats } from './stats.js';
import { StoreHealth } from './store-health.js';
import { inlineFields } from './store-meta.js';
import { S3Store } from './store/s3-store.js';
import { variantId } from './vary.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { sharedSwift, storeClient, swiftMissing, uniqueBucket } from '../../test/support/swift.js';
import { waitFor } from '../../test/support/wait.js';

const skip = swiftMissing();
const PREFIX = 'p/';
const HOST = 'purge.test';
const STORE_ID = storeIdOf('b', PREFIX);
const noHeader = (): undefined => undefined;
const acceptJson = (name: string): string | undefined => name === 'accept' ? 'application/json' : undefined;

describe('removals told between sidecars, on Swift', { skip, timeout: 180_000 }, () => {
  let store: S3Store;
  let s3: S3Client;
  const stops: (() => void)[] = [];

  before(async () => {
    const swift = await sharedSwift();
    store = new S3Store({ ...swift, bucket: uniqueBucket('purge'), partSize: 5 * 1024 * 1024, queueSize: 2 });
    s3 = await storeClient(swift, store.bucket); // creates the bucket
  });

  after(() => {
    for (const stop of stops) stop();
    store.destroy();
    s3.destroy();
  });

  /** A sidecar's entries on the shared store (memory tier 1 MiB: bodies up to 64 KiB held). */
  function sidecar(retryMs?: number): Entries {
    const health = new StoreHealth({ intervalMs: 60_000, probe: async () => undefined, report: () => undefined });
    const entries = new Entries(store, new MemoryTier(1 << 20), health, new CacheStats(), null, null, retryMs);
    stops.push(() => entries.stop());
    return entries;
  }

  /** Stores `text` as `target`'s body (the variant `vary` selects for `header`), its metadata riding in it. */
  async function fill(entries: Entries, target: string, text: string, vary: string[] = [], header: (name: string) => string | undefined = noHeader): Promise<EntryKeys> {
    const keys = entryKeys(PREFIX, 'http', HOST, target);
    const dir = variantDir(keys, variantId(vary, header));
    const fields = [['cache-control', 'max-age=600'], ['content-type', 'text/plain']] as const;
    const verdict = storeVerdict(requestFacts('GET', target, header), prepareResponse(200, fields), Date.now);
    assert.ok(verdict.store);
    const head = { v: 1 as const, url: keys.url, status: 200, headers: fields, vary, policy: verdict.policy };
    await store.putText(dir + BODY, text, inlineFields(head)!);
    const found = await store.headObject(dir + BODY);
    const entry: Entry = { ...head, size: text.length, bodyEtag: found!.etag, inline: true };
    assert.ok(await entries.save(keys, dir, entry, undefined, entries.token()));
    return keys;
  }

  /** The host's keys now, without listing through the store whose calls a test counts. */
  async function keysLeft(): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of S3Store.prototype.list.call(store, hostDir(PREFIX, HOST))) keys.push(key);
    return keys;
  }

  /** Counts the store's listings (the prefix of each) while `work` runs. */
  async function listings<T>(work: () => Promise<T>): Promise<{ result: T; prefixes: string[] }> {
    const prefixes: string[] = [];
    const real = store.list;
    store.list = (prefix, pageSize) => {
      prefixes.push(prefix);
      return real.call(store, prefix, pageSize);
    };
    try {
      return { result: await work(), prefixes };
    } finally {
      store.list = real;
    }
  }

  /** What a sidecar's news channel sends, each item once. */
  function channel(learnRemoval: (removal: RemovalNews) => void = () => undefined): CacheNews {
    return new CacheNews({ storeId: STORE_ID, dirPrefix: `${PREFIX}hh/`, transmits: () => 1, learnFills: () => undefined, learnRemoval });
  }

  /** What a news channel sends now (each item once), and the removals in it. */
  function sent(news: CacheNews): { msgs: Uint8Array[]; removals: RemovalNews[] } {
    const msgs = news.broadcasts(0, 1400);
    const removals: RemovalNews[] = [];
    for (const msg of msgs) {
      const decoded = decodeNews(STORE_ID, `${PREFIX}hh/`, msg);
      if (decoded?.kind === 'removals') removals.push(...decoded.removals);
    }
    return { msgs, removals };
  }
  const removalsSent = (news: CacheNews): Array<[string, string]> => sent(news).removals.map(({ dir, url }) => [dir, url]);

  it('lists the host once, then deletes what it found: every variant of every URL under the prefix, nothing else', async () => {
    const a = sidecar();
    await fill(a, '/logs/1', 'one');
    await fill(a, '/logs/2', 'two', ['accept'], acceptJson);
    const kept = await fill(a, '/kept', 'kept');
    const before = await keysLeft();
    assert.equal(before.length, 4, `one body each, and the Vary index of /logs/2: ${before.join(' ')}`);
    const { result, prefixes } = await listings(() => a.removeUrlPrefix(PREFIX, HOST, `http://${HOST}/logs/`));
    assert.deepEqual(prefixes, [hostDir(PREFIX, HOST)], 'one listing: the host, no directory listed again');
    assert.equal(result, 3, 'the objects deleted');
    assert.deepEqual(await keysLeft(), [kept.dir + BODY]);
    assert.equal(await a.find(entryKeys(PREFIX, 'http', HOST, '/logs/1'), noHeader), null);
    assert.equal((await a.find(kept, noHeader))?.entry.url, kept.url, 'a URL outside the prefix is still found');
    await a.remove(kept);
  });

  it("is told as its prefix, when it begins and when it ends (never each URL); the other sidecar drops what it holds under it: memory, remembered metadata, fetches, fills begun before", async () => {
    const a = sidecar();
    const aNews = channel();
    a.onRemoval = (notice) => aNews.tellRemoval(notice);
    const small = await fill(a, '/docs/small', 'small');
    const large = await fill(a, '/docs/large', 'x'.repeat(100 * 1024));
    const other = await fill(a, '/other', 'other');
    for (let i = 0; i < 20; i++) await fill(a, `/docs/many/${i}`, `many ${i}`);
    assert.deepEqual(removalsSent(aNews), [], "fills are not removals");

    const b = sidecar();
    const bState = peerFilterState(b);
    const bNews = channel((removal) => bState.filter.removedElsewhere(peerNotice(removal)));
    const held = await b.find(small, noHeader, 'whole');
    held!.early?.drop();
    b.keep(held!, Buffer.from('small'));
    assert.ok(b.memory!.plain(small.url) !== undefined, 'b holds the small body in memory');
    assert.equal((await b.find(large, noHeader))?.entry.url, large.url, 'b remembers the large entry\'s metadata');
    await bState.flights.join({ header: noHeader } as unknown as RequestView, requestFacts('GET', '/docs/small', noHeader), small.url);
    const fillBegun = b.token();

    const prefix = `http://${HOST}/docs/`;
    assert.equal(await a.removeUrlPrefix(PREFIX, HOST, prefix), 22);
    const told = sent(aNews);
    assert.deepEqual(told.removals.map(({ dir, url }) => [dir, url]), [['', prefix]], 'the prefix, not each of its 22 URLs (its end took the place of its begin, still waiting)');
    assert.equal(aNews.removalsTold, 2, 'when it began and when it ended');
    assert.ok(await b.find(large, noHeader) !== null, 'before the news, b still answers from what it remembers');

    for (const msg of told.msgs) bNews.heard(msg);
    assert.equal(bNews.removalsLearned, 1);
    assert.equal(b.memory!.plain(small.url), undefined, 'the memory tier dropped it');
    assert.equal(await b.find(large, noHeader), null, 'the remembered metadata dropped (the store has none left)');
    assert.equal(bState.flights.has(small.url), false, 'no reader joins a fetch of a purged URL');
    assert.equal(b.stale(small, fillBegun), true, 'a fill begun before is not saved');
    assert.equal(b.stale(other, fillBegun), false, 'a URL outside the prefix is untouched');
    await a.remove(other);
  });

  it("a fill saved after another sidecar's deletion of its URL, before the news of it arrived, is deleted when it arrives", async () => {
    const a = sidecar();
    const aNews = channel();
    a.onRemoval = (notice) => aNews.tellRemoval(notice);
    const b = sidecar();
    const bNews = channel((removal) => b.removedElsewhere(peerNotice(removal)));
    b.onRemoval = (notice) => bNews.tellRemoval(notice);
    const keys = entryKeys(PREFIX, 'http', HOST, '/late');
    assert.equal(await a.remove(keys), 0, "a's PUT removes the URL: nothing stored yet");
    await fill(b, '/late', 'version 1'); // b's GET reached the backend before the PUT did
    const untouched = await fill(b, '/untouched', 'kept');
    assert.ok(await b.find(keys, noHeader) !== null, 'the old response is stored');
    for (const msg of sent(aNews).msgs) bNews.heard(msg);
    await waitFor(async () => (await store.headObject(keys.dir + BODY)) === null, 30_000, 'b to delete its late fill');
    assert.equal(await b.find(keys, noHeader), null);
    assert.ok((await store.headObject(untouched.dir + BODY)) !== null, 'another URL b saved is kept');
    // Told, it would make a (which may have saved the URL since) delete its own fill and tell that, and so on while the URL is asked.
    assert.equal(bNews.removalsTold, 0, "b's deletion is not told to the others");
    await b.remove(untouched);
  });

  it('a directory whose deletion fails stays a miss and is retried; told when a retry succeeds, the purge when it begins and ends', async () => {
    const a = sidecar(50);
    const aNews = channel();
    a.onRemoval = (notice) => aNews.tellRemoval(notice);
    const first = await fill(a, '/tmp/1', 'one');
    const second = await fill(a, '/tmp/2', 'two');
    const real = store.deleteKeys;
    store.deleteKeys = async (keys) => {
      if (keys.some((key) => key.startsWith(second.dir))) throw new Error('the store refused the deletion');
      return real.call(store, keys);
    };
    try {
      await assert.rejects(a.removeUrlPrefix(PREFIX, HOST, `http://${HOST}/tmp/`), /refused/);
      assert.equal(await a.find(second, noHeader), null, 'the failed one is a miss while it waits for its retry');
      assert.ok((await store.headObject(second.dir + BODY)) !== null, 'its body is still in the store');
      assert.equal((await store.headObject(first.dir + BODY)), null, 'the other URL was deleted all the same');
      assert.deepEqual(removalsSent(aNews), [['', `http://${HOST}/tmp/`]], 'the purge, ended though one directory failed');
    } finally {
      store.deleteKeys = real;
    }
    await waitFor(async () => (await store.headObject(second.dir + BODY)) === null, 30_000, 'the retry to delete the failed directory');
    await waitFor(() => aNews.removalsTold === 3, 30_000, 'the retry to be told');
    assert.deepEqual(removalsSent(aNews), [[second.dir, '']], 'the retried directory, on its own');
  });
});

/** A cache filter over `entries`, as a sidecar that hears news runs it, and its fetches. */
function peerFilterState(entries: Entries): { filter: CacheFilter; flights: FilterState['flights'] } {
  const health = new StoreHealth({ intervalMs: 60_000, probe: async () => undefined, report: () => undefined });
  const filter = new CacheFilter(entries, health, new CacheStats(), {
    prefix: PREFIX, scheme: 'http', minSize: 0, staleOnErrorMs: 0, passTtlMs: 0, lookupTimeoutMs: 0,
    quickAbort: { minLeft: 0, maxLeft: 0, percent: 100 }, maxBuffered: 1 << 20, flightWindow: 1 << 20,
    clock: Date.now, anyReady: () => true, refresh: null,
  });
  return { filter, flights: (filter as unknown as { state: FilterState }).state.flights };
}
