/**
 * Entries against a real S3 server (Swift + s3api): a URL whose removal is still running is a miss.
 * The store's deletion is held open (the real one runs once released), which makes the window
 * between an invalidating request's answer and the end of its LIST + DELETEs as long as the test needs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { S3Client } from '@aws-sdk/client-s3';
import { Entries } from './entries.js';
import type { Entry } from './entry.js';
import { BODY, entryKeys, type EntryKeys } from './key.js';
import { MemoryTier } from './memory-tier.js';
import { prepareResponse, requestFacts, storeVerdict } from './policy.js';
import { CacheStats } from './stats.js';
import { StoreHealth } from './store-health.js';
import { S3Store } from './store/s3-store.js';
import { sharedSwift, storeClient, swiftMissing, uniqueBucket } from '../../test/support/swift.js';

const skip = swiftMissing();
const noHeader = (): undefined => undefined;

/** Makes the store's next deletePrefix wait for `release()` before the real deletion runs. */
function holdDeletes(store: S3Store): { started: Promise<void>; release: () => void } {
  const real = store.deletePrefix.bind(store);
  let release!: () => void;
  let begun!: () => void;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  const started = new Promise<void>((resolve) => { begun = resolve; });
  store.deletePrefix = async (prefix: string): Promise<number> => {
    store.deletePrefix = real;
    begun();
    await gate;
    return real(prefix);
  };
  return { started, release };
}

describe('entries on Swift', { skip, timeout: 120_000 }, () => {
  let store: S3Store;
  let s3: S3Client;

  before(async () => {
    const swift = await sharedSwift();
    store = new S3Store({ ...swift, bucket: uniqueBucket('entries'), partSize: 5 * 1024 * 1024, queueSize: 2 });
    s3 = await storeClient(swift, store.bucket);
  });

  after(() => {
    store.destroy();
    s3.destroy();
  });

  /** Stores `text` as the body of `target` and its metadata, as a fill would. */
  async function stored(entries: Entries, target: string, text: string): Promise<EntryKeys> {
    const keys = entryKeys('t/', 'http', 'example.test', target);
    const bodyEtag = await store.putText(keys.dir + BODY, text).then(() => headEtag(keys.dir + BODY));
    const fields = [['cache-control', 'max-age=600'], ['content-type', 'text/plain']] as const;
    const verdict = storeVerdict(requestFacts('GET', target, noHeader), prepareResponse(200, fields), Date.now);
    assert.ok(verdict.store);
    const entry: Entry = { v: 1, url: keys.url, status: 200, headers: fields, vary: [], policy: verdict.policy, size: text.length, bodyEtag };
    await entries.save(keys, keys.dir, entry, undefined);
    return keys;
  }

  async function headEtag(key: string): Promise<string> {
    const got = await store.getWhole(key);
    assert.ok(got !== null);
    got.body.resume();
    return got.etag;
  }

  function entriesOf(memory: MemoryTier | null): Entries {
    const health = new StoreHealth({ intervalMs: 60_000, probe: async () => undefined, report: () => undefined });
    return new Entries(store, memory, health, new CacheStats());
  }

  for (const memory of [null, 1 << 20]) {
    it(`a lookup while the URL's removal runs is a miss, and stays one after it (memory tier ${memory === null ? 'off' : 'on'})`, async () => {
      const entries = entriesOf(memory === null ? null : new MemoryTier(memory));
      const keys = await stored(entries, `/held-${memory ?? 0}`, 'version 1');
      assert.equal((await entries.find(keys, noHeader, true))?.entry.url, keys.url, 'stored and found before the removal');
      const held = holdDeletes(store);
      const removal = entries.remove(keys);
      await held.started;
      assert.ok((await store.getText(keys.dir + 'meta.json')) !== null, 'the store still holds the metadata');
      assert.equal(await entries.find(keys, noHeader, true), null, 'found while its removal runs');
      assert.equal(await entries.find(keys, noHeader, false), null);
      held.release();
      assert.equal(await removal, 2, 'metadata and body deleted');
      assert.equal(await entries.find(keys, noHeader, true), null, 'found after its removal');
    });
  }

  it('a failed removal leaves the URL a miss until a new entry is saved there', async () => {
    const entries = entriesOf(null);
    const keys = await stored(entries, '/fails', 'version 1');
    const real = store.deletePrefix.bind(store);
    store.deletePrefix = async () => { throw new Error('the store refused the deletion'); };
    try {
      await assert.rejects(entries.remove(keys), /refused/);
    } finally {
      store.deletePrefix = real;
    }
    assert.ok((await store.getText(keys.dir + 'meta.json')) !== null, 'the store still holds the old entry');
    assert.equal(await entries.find(keys, noHeader), null, 'the invalidated entry is not served');
    await stored(entries, '/fails', 'version 2');
    const found = await entries.find(keys, noHeader);
    assert.equal(found?.entry.size, 'version 2'.length, 'a new entry is found again');
  });
});
