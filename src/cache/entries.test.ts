/**
 * Entries against a real S3 server (Swift + s3api): a URL whose removal is still running (or
 * failed) is a miss; a fill or a body read that began before a removal of its URL is not saved or
 * kept. The store's deletion (or metadata write) is held open (the real one runs once released),
 * which makes the window between an invalidating request's answer and the end of its LIST +
 * DELETEs, or a fill's last write, as long as the test needs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { S3Client } from '@aws-sdk/client-s3';
import { Entries } from './entries.js';
import type { Entry } from './entry.js';
import { BODY, entryKeys, type EntryKeys } from './key.js';
import { MemoryTier } from './memory-tier.js';
import { inlineFields } from './store-meta.js';
import { prepareResponse, requestFacts, storeVerdict } from './policy.js';
import { CacheStats } from './stats.js';
import { StoreHealth } from './store-health.js';
import { S3Store } from './store/s3-store.js';
import { sharedSwift, storeClient, swiftMissing, uniqueBucket } from '../../test/support/swift.js';
import { deferred } from '../../test/support/flow.js';

const skip = swiftMissing();
const noHeader = (): undefined => undefined;

/** Makes the store's next call of `method` wait for `release()` before the real call runs. */
function holdNext(store: S3Store, method: 'deletePrefix' | 'putText'): { started: Promise<void>; release: () => void } {
  const calls = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const real = calls[method]!.bind(store);
  const gate = deferred();
  const started = deferred();
  calls[method] = async (...args: unknown[]): Promise<unknown> => {
    calls[method] = real;
    started.resolve();
    await gate.promise;
    return real(...args);
  };
  return { started: started.promise, release: () => gate.resolve() };
}

describe('entries on Swift', { skip, timeout: 120_000 }, () => {
  let store: S3Store;
  let s3: S3Client;

  before(async () => {
    const swift = await sharedSwift();
    store = new S3Store({ ...swift, bucket: uniqueBucket('entries'), partSize: 5 * 1024 * 1024, queueSize: 2 });
    s3 = await storeClient(swift, store.bucket);
  });

  const stops: (() => void)[] = [];

  after(() => {
    for (const stop of stops) stop();
    store.destroy();
    s3.destroy();
  });

  /** Stores `text` as the body of `target` with its metadata in the body object, as a fill would. */
  async function stored(entries: Entries, target: string, text: string): Promise<EntryKeys> {
    const keys = entryKeys('t/', 'http', 'example.test', target);
    const { v, url, status, headers, vary, policy } = entryOf(keys, 0, '');
    const head = { v, url, status, headers, vary, policy };
    const write = store.upload(keys.dir + BODY, text.length, () => inlineFields(head));
    write.write(Buffer.from(text));
    const bodyEtag = await write.end();
    assert.ok(write.inline);
    const entry: Entry = { ...head, size: text.length, bodyEtag, inline: true };
    assert.ok(await entries.save(keys, keys.dir, entry, undefined, entries.token()));
    return keys;
  }

  async function headEtag(key: string): Promise<string> {
    const head = await store.headObject(key);
    assert.ok(head !== null);
    return head.etag;
  }

  const bodyStored = async (keys: EntryKeys): Promise<boolean> => (await store.headObject(keys.dir + BODY)) !== null;

  function entriesOf(memory: MemoryTier | null, retryMs?: number): Entries {
    const health = new StoreHealth({ intervalMs: 60_000, probe: async () => undefined, report: () => undefined });
    const entries = new Entries(store, memory, health, new CacheStats(), null, null, retryMs);
    stops.push(() => entries.stop());
    return entries;
  }

  for (const memory of [null, 1 << 20]) {
    it(`a lookup while the URL's removal runs is a miss, and stays one after it (memory tier ${memory === null ? 'off' : 'on'})`, async () => {
      const entries = entriesOf(memory === null ? null : new MemoryTier(memory));
      const keys = await stored(entries, `/held-${memory ?? 0}`, 'version 1');
      assert.equal((await entries.find(keys, noHeader, 'whole'))?.entry.url, keys.url, 'stored and found before the removal');
      const held = holdNext(store, 'deletePrefix');
      const removal = entries.remove(keys);
      await held.started;
      assert.ok(await bodyStored(keys), 'the store still holds the entry');
      assert.equal(await entries.find(keys, noHeader, 'whole'), null, 'found while its removal runs');
      assert.equal(await entries.find(keys, noHeader, 'head'), null);
      held.release();
      assert.equal(await removal, 1, 'the body object deleted, its metadata with it');
      assert.equal(await entries.find(keys, noHeader, 'whole'), null, 'found after its removal');
    });
  }

  it('a failed removal leaves the URL a miss, and nothing is saved there, until a retry in the background succeeds', async () => {
    const entries = entriesOf(null, 50);
    const keys = await stored(entries, '/fails', 'version 1');
    const real = store.deletePrefix.bind(store);
    let refusals = 0;
    let allowed = false;
    store.deletePrefix = async (prefix) => {
      if (!allowed) {
        refusals++;
        throw new Error('the store refused the deletion');
      }
      store.deletePrefix = real;
      return real(prefix);
    };
    try {
      await assert.rejects(entries.remove(keys), /refused/);
      assert.ok(await bodyStored(keys), 'the store still holds the old entry');
      assert.equal(await entries.find(keys, noHeader), null, 'the invalidated entry is not served');
      await assert.rejects(stored(entries, '/fails', 'version 2'), 'no entry is saved while the removal is not done');
      await waitFor(() => refusals >= 3, 'two retries');
      assert.equal(await entries.find(keys, noHeader), null, 'still a miss while the retries fail');
      allowed = true;
      await waitFor(async () => !await bodyStored(keys), 'the retry to delete the entry');
    } finally {
      store.deletePrefix = real;
    }
    await waitFor(async () => (await stored(entries, '/fails', 'version 3').then(() => true, () => false)), 'the URL to take entries again');
    assert.equal((await entries.find(keys, noHeader))?.entry.size, 'version 3'.length, 'a new entry is found again');
  });

  it('a fill whose URL was removed after its request was looked up is not saved, and its body is deleted', async () => {
    const entries = entriesOf(new MemoryTier(1 << 20));
    const keys = entryKeys('t/', 'http', 'example.test', '/fill-removed');
    const token = entries.token(); // the GET's lookup: a miss
    await entries.remove(keys); // the PUT's removal, while the fill's body was still being written: not listed
    await store.putText(keys.dir + BODY, 'version 1'); // the fill's body completes
    const entry = entryOf(keys, 'version 1'.length, await headEtag(keys.dir + BODY));
    assert.equal(await entries.save(keys, keys.dir, entry, Buffer.from('version 1'), token), false);
    assert.equal(await store.getText(keys.dir + 'meta.json'), null, 'no metadata');
    assert.equal(await bodyStored(keys), false, 'no body');
    assert.equal(await entries.find(keys, noHeader), null);
    assert.equal(entries.memory!.plain(keys.url), undefined, 'not in the memory tier');
  });

  it('a removal that starts while a fill writes its metadata beside its body (too large to inline): the URL is removed again, not found, not held in memory', async () => {
    const entries = entriesOf(new MemoryTier(1 << 20));
    const keys = entryKeys('t/', 'http', 'example.test', '/fill-racing');
    const token = entries.token();
    await store.putText(keys.dir + BODY, 'version 1');
    const entry = entryOf(keys, 'version 1'.length, await headEtag(keys.dir + BODY));
    const held = holdNext(store, 'putText');
    const saving = entries.save(keys, keys.dir, entry, Buffer.from('version 1'), token);
    await held.started;
    const removal = entries.remove(keys); // lists the URL before the metadata is there
    assert.equal(await removal, 1, 'the removal saw the body only');
    held.release();
    assert.equal(await saving, false);
    assert.equal(await store.getText(keys.dir + 'meta.json'), null, 'the metadata written after the listing is deleted');
    assert.equal(await entries.find(keys, noHeader), null);
    assert.equal(entries.memory!.plain(keys.url), undefined, 'not in the memory tier');
  });

  it('a 304\'s metadata rewrite for an entry looked up before its URL\'s removal writes nothing', async () => {
    const entries = entriesOf(null);
    const keys = await stored(entries, '/revalidated', 'version 1');
    const found = await entries.find(keys, noHeader);
    assert.ok(found !== null);
    await entries.remove(keys); // the PUT's removal ran while the revalidation was on its way
    await entries.update(found, { ...found.entry, headers: [...found.entry.headers, ['x-revalidated', '1']] });
    assert.equal(await bodyStored(keys), false, 'no metadata written back');
    assert.equal(await entries.find(keys, noHeader), null);
  });

  it('a removal of one URL does not keep another URL\'s body out of the memory tier', async () => {
    const entries = entriesOf(new MemoryTier(1 << 20));
    const kept = await stored(entries, '/kept', 'version 1');
    const other = await stored(entries, '/other', 'version 1');
    const found = await entries.find(kept, noHeader);
    assert.ok(found !== null && found.body === undefined, 'found in the store, not in memory');
    await entries.remove(other);
    entries.keep(found, Buffer.from('version 1'));
    assert.ok(entries.memory!.plain(kept.url) !== undefined, 'kept in the memory tier');
    const again = await entries.find(kept, noHeader);
    await entries.remove(kept);
    entries.keep(again!, Buffer.from('version 1'));
    assert.equal(entries.memory!.plain(kept.url), undefined, 'a body read before its own URL\'s removal is not kept');
  });
});

function entryOf(keys: EntryKeys, size: number, bodyEtag: string): Entry {
  const fields = [['cache-control', 'max-age=600'], ['content-type', 'text/plain']] as const;
  const verdict = storeVerdict(requestFacts('GET', '/', noHeader), prepareResponse(200, fields), Date.now);
  assert.ok(verdict.store);
  return { v: 1, url: keys.url, status: 200, headers: fields, vary: [], policy: verdict.policy, size, bodyEtag };
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
