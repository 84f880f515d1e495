import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { entryKeys } from './key.js';
import { ABANDONED_EVERY_MS, digestOf, StoreIndex, type StoreIndexOptions } from './store-index.js';

const PREFIX = 'p/';
const dirOf = (path: string, host = 'a.example'): string => entryKeys(PREFIX, 'http', host, path).dir;
/** The objects a stored entry has: metadata and body (and a variant's, below it). */
const objectsOf = (dir: string): string[] => [`${dir}body`, `${dir}meta.json`, `${dir}v-1/body`, `${dir}v-1/meta.json`];

interface Harness {
  index: StoreIndex;
  logs: string[];
  timers: number[];
  now: { ms: number };
  /** What the next listing yields (a throw: the listing fails there). */
  listing: { keys: string[]; fail?: Error; gate?: Promise<void> };
}

function harness(extra: Partial<StoreIndexOptions> = {}): Harness {
  const logs: string[] = [];
  const timers: number[] = [];
  const now = { ms: 1_000_000 };
  const listing: Harness['listing'] = { keys: [] };
  const index = new StoreIndex({
    everyMs: 60_000, max: 1_000, retryMs: 5_000, prefix: `${PREFIX}hh/`, clock: () => now.ms, log: (m) => logs.push(m),
    list: async function* () {
      const { keys, fail, gate } = listing;
      for (const [i, key] of keys.entries()) {
        if (i === 1 && gate !== undefined) await gate;
        yield key;
      }
      if (fail !== undefined) throw fail;
    },
    setTimer: (_fn, ms) => {
      timers.push(ms);
      return {};
    },
    clearTimer: () => undefined,
    ...extra,
  });
  return { index, logs, timers, now, listing };
}

describe('store index (--cache-index)', () => {
  it('says "absent" only for URLs the listing did not find, and only once built', async () => {
    const h = harness();
    const stored = dirOf('/stored');
    h.listing.keys = [...objectsOf(dirOf('/0')), ...objectsOf(stored), 'p/hh/other-object', 'p/elsewhere/x'].sort();
    assert.equal(h.index.absent(dirOf('/new')), false, 'not built yet: unknown, look it up');
    assert.equal(h.index.trusted(), false);
    await h.index.refresh();
    assert.equal(h.index.trusted(), true);
    assert.equal(h.index.absent(stored), false);
    assert.equal(h.index.absent(dirOf('/0')), false);
    assert.equal(h.index.absent(dirOf('/new')), true);
    assert.equal(h.index.entries, 2, 'URL directories, not objects');
    assert.equal(h.index.ageMs(), 0);
    assert.deepEqual(h.timers, [60_000], 'the next listing one DURATION after this one started');
    assert.match(h.logs.join('\n'), /2 URL directories listed \(10 objects, 0 ms\)/);
  });

  it('is unknown again once its listing is older than 2 x DURATION, and trusted after the next', async () => {
    const h = harness();
    await h.index.refresh();
    h.now.ms += 120_000;
    assert.equal(h.index.absent(dirOf('/new')), true, 'exactly 2 x DURATION old: still trusted');
    h.now.ms += 1;
    assert.equal(h.index.absent(dirOf('/new')), false, 'older: every miss is looked up');
    assert.equal(h.index.ageMs(), 120_001);
    await h.index.refresh();
    assert.equal(h.index.absent(dirOf('/new')), true);
  });

  it('a failed listing makes it unknown until a listing succeeds, retried sooner, logged once', async () => {
    const h = harness();
    await h.index.refresh();
    h.listing.fail = new Error('connect ECONNREFUSED');
    h.now.ms += 60_000;
    await h.index.refresh();
    assert.equal(h.index.absent(dirOf('/new')), false, 'the last listing failed');
    await h.index.refresh();
    assert.equal(h.logs.filter((l) => /listing the store failed.*ECONNREFUSED/.test(l)).length, 1, h.logs.join('\n'));
    assert.deepEqual(h.timers, [60_000, 5_000, 5_000]);
    delete h.listing.fail;
    await h.index.refresh();
    assert.equal(h.index.absent(dirOf('/new')), true);
    assert.equal(h.logs.filter((l) => /listed/.test(l)).length, 2, 'the first build and the recovery are logged');
  });

  it('a listing that fails before the first build leaves it unknown', async () => {
    const h = harness();
    h.listing.fail = new Error('store down');
    await h.index.refresh();
    assert.equal(h.index.trusted(), false);
    assert.equal(h.index.absent(dirOf('/new')), false);
    assert.equal(h.index.ageMs(), null);
  });

  it('own fills are present at once, and fills during a listing survive its swap', async () => {
    const h = harness();
    await h.index.refresh();
    const early = dirOf('/early');
    h.index.add(early);
    assert.equal(h.index.absent(early), false, 'an own fill is present at once');
    let open!: () => void;
    h.listing.gate = new Promise((resolve) => { open = resolve; });
    h.listing.keys = [...objectsOf(dirOf('/listed'))];
    h.now.ms += 60_000;
    const running = h.index.refresh();
    const during = dirOf('/during');
    h.index.add(during); // stored while the listing runs (after the page that would have held it)
    assert.equal(h.index.absent(during), false, 'in the current filter too');
    open();
    await running;
    assert.equal(h.index.absent(during), false, 'a fill during the listing survives the swap');
    assert.equal(h.index.absent(dirOf('/listed')), false);
    assert.equal(h.index.absent(early), true, 'an own fill the listing did not find is gone: removed from the store since');
  });

  it('fills before the first listing ends are kept too', async () => {
    const h = harness();
    let open!: () => void;
    h.listing.gate = new Promise((resolve) => { open = resolve; });
    h.listing.keys = objectsOf(dirOf('/listed'));
    const running = h.index.refresh();
    h.index.add(dirOf('/mine'));
    open();
    await running;
    assert.equal(h.index.absent(dirOf('/mine')), false);
    assert.equal(h.index.entries, 2);
  });

  it('a bucket with more than --cache-index-max URL directories abandons the index, listed again every hour', async () => {
    const h = harness({ max: 3 });
    h.listing.keys = ['/1', '/2', '/3'].flatMap((p) => objectsOf(dirOf(p))).sort();
    await h.index.refresh();
    assert.equal(h.index.trusted(), true, '3 is not more than 3');
    h.listing.keys = ['/1', '/2', '/3', '/4', '/5'].flatMap((p) => objectsOf(dirOf(p))).sort();
    h.now.ms += 60_000;
    await h.index.refresh();
    assert.equal(h.index.trusted(), false);
    assert.equal(h.index.absent(dirOf('/new')), false);
    assert.equal(h.index.entries, 0, 'the filter is dropped');
    assert.match(h.logs.join('\n'), /abandoned: the store holds more than --cache-index-max 3 URL directories \(4 found in the first 13 objects\).*Listed again every 3600 s, the index returns when it holds at most 2/);
    assert.deepEqual(h.timers, [60_000, ABANDONED_EVERY_MS], 'the next listing an hour after this one started');
    h.index.add(dirOf('/6'));
    assert.equal(h.index.trusted(), false);
    h.now.ms += ABANDONED_EVERY_MS;
    await h.index.refresh();
    assert.equal(h.index.trusted(), false, 'still more than the limit');
    assert.equal(h.logs.filter((l) => /abandoned/.test(l)).length, 1, 'logged once');
    assert.deepEqual(h.timers.slice(2), [ABANDONED_EVERY_MS]);
  });

  it('an abandoned index returns once the bucket holds at most 90% of --cache-index-max', async () => {
    const h = harness({ max: 10 });
    const dirs = (n: number): string[] => Array.from({ length: n }, (_, i) => `/${i}`).flatMap((p) => objectsOf(dirOf(p))).sort();
    h.listing.keys = dirs(11);
    await h.index.refresh();
    assert.equal(h.index.trusted(), false, 'abandoned');
    h.listing.keys = dirs(10);
    h.now.ms += ABANDONED_EVERY_MS;
    await h.index.refresh();
    assert.equal(h.index.trusted(), false, 'at the limit, not 10% under it: a bucket near the limit would switch it on and off');
    h.listing.keys = dirs(9);
    h.now.ms += ABANDONED_EVERY_MS;
    let open!: () => void;
    h.listing.gate = new Promise((resolve) => { open = resolve; });
    const running = h.index.refresh();
    h.index.add(dirOf('/mine')); // stored while the listing runs
    open();
    await running;
    assert.equal(h.index.trusted(), true, 'back');
    assert.equal(h.index.absent(dirOf('/new')), true);
    assert.equal(h.index.absent(dirOf('/mine')), false, 'a fill during the listing that brought it back is in it');
    assert.equal(h.index.entries, 10);
    assert.match(h.logs.at(-1)!, /9 URL directories listed/);
    assert.deepEqual(h.timers.slice(-1), [60_000], 'listed every DURATION again');
  });

  it('an abandoned index whose listing fails tries again an hour later, not at the failure pace', async () => {
    const h = harness({ max: 1 });
    h.listing.keys = ['/1', '/2'].flatMap((p) => objectsOf(dirOf(p))).sort();
    await h.index.refresh();
    h.listing.fail = new Error('connect ECONNREFUSED');
    h.listing.keys = [];
    h.now.ms += ABANDONED_EVERY_MS;
    await h.index.refresh();
    assert.deepEqual(h.timers, [ABANDONED_EVERY_MS, ABANDONED_EVERY_MS]);
    assert.equal(h.index.trusted(), false);
  });

  it('reads the digest of a URL directory from any key below it, and nothing from other keys', () => {
    const dir = dirOf('/x?y=1', 'Host:8080');
    const digest = dir.slice(-65, -1);
    for (const key of [dir, `${dir}meta.json`, `${dir}v-abc/body`]) assert.equal(digestOf('p/hh/', key), digest);
    for (const key of ['p/hh/a/short/meta.json', `q/hh/a/${digest}/body`, `p/hh/a/${digest}`, `p/hh/a/${digest.toUpperCase()}/body`]) {
      assert.equal(digestOf('p/hh/', key), null, key);
    }
  });
});
