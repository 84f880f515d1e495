/** Cache news between the primary of --workers N and its workers (worker-news.ts), in process: fill batches, and what the primary relays. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeWorkerMessage, PROTOCOL_VERSION } from '../control/messages.js';
import type { HashPair } from './bloom.js';
import { CacheNews, encodeFills, encodeRemovals, storeIdOf } from './cache-news.js';
import type { RemovalNotice } from './removals.js';
import { batchedFills, FILLS_PER_MESSAGE, pairsOf, toWorkers } from './worker-news.js';

const STORE = storeIdOf('bucket', 'p/');
const key = (i: number): HashPair => ({ h1: i, h2: (i * 7 + 3) >>> 0 });
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('cache news to and from workers (worker-news.ts)', () => {
  it("a worker's fills of one turn go in messages of at most FILLS_PER_MESSAGE, each one the primary accepts", async () => {
    const messages: number[][] = [];
    const stored = batchedFills((flat) => messages.push(flat));
    const count = 70_000; // more than a control message may hold (65,536 fills)
    for (let i = 0; i < count; i++) stored(key(i));
    assert.equal(messages.length, 0, 'sent once the turn is over');
    await nextTurn();
    assert.equal(messages.length, Math.ceil(count / FILLS_PER_MESSAGE));
    for (const flat of messages) {
      assert.ok(flat.length <= 2 * FILLS_PER_MESSAGE);
      assert.equal(decodeWorkerMessage({ v: PROTOCOL_VERSION, type: 'cache-fills', keys: flat }).ok, true);
    }
    assert.deepEqual(messages.flatMap((flat) => pairsOf(flat)), Array.from({ length: count }, (_, i) => key(i)), 'every fill, once, in order');
    stored(key(1));
    await nextTurn();
    assert.deepEqual(messages.at(-1), [1, 10], 'a later turn: a message of its own');
  });

  for (const indexed of [false, true]) {
    it(`the primary relays the cluster's removals to its workers, and its fills only when they keep an index (${indexed ? 'with' : 'without'} --cache-index)`, () => {
      const fills: number[][] = [];
      const removals: RemovalNotice[] = [];
      const workers = { tellFills: (keys: readonly number[]) => fills.push([...keys]), tellRemoval: (notice: RemovalNotice) => removals.push(notice) };
      const news = new CacheNews({ storeId: STORE, dirPrefix: 'p/hh/', transmits: () => 1, ...toWorkers(() => workers, indexed) });
      news.heard(encodeFills(STORE, [key(1), key(2)]));
      news.heard(encodeRemovals(STORE, [{ dir: '', url: 'http://a.example/logs/', id: 5 }]));
      assert.deepEqual(fills, indexed ? [[1, 10, 2, 17]] : [], indexed ? 'fills for the workers\' indexes' : 'no index reads them: not sent');
      assert.deepEqual(removals, [{ phase: 'peer', dir: '', url: 'http://a.example/logs/', ok: true }]);
      assert.equal(news.fillsLearned, 2, 'learned (and passed on to the cluster) either way');
    });
  }

  it('before the workers exist, news is dropped, not thrown', () => {
    const news = new CacheNews({ storeId: STORE, dirPrefix: 'p/hh/', transmits: () => 1, ...toWorkers(() => null, true) });
    news.heard(encodeFills(STORE, [key(1)]));
    news.heard(encodeRemovals(STORE, [{ dir: '', url: 'http://a.example/', id: 1 }]));
    assert.equal(news.removalsLearned, 1);
  });
});
