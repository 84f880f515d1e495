import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestView } from '../proxy/pipeline.js';
import { Refreshes, SETTLE_MS, type StaleEntry } from './refreshes.js';
import { deferred, type Deferred } from '../../test/support/flow.js';

const req = {} as RequestView;
/** A stale entry; its Vary list names its directory, so the test sees which entry each refresh is for. */
const entry = (dir: string, receivedAt = 1_000): StaleEntry => ({ dir, receivedAt, vary: [dir] });

interface Harness {
  refreshes: Refreshes;
  now: { ms: number };
  /** One per refresh started, ended by the test. */
  started: Array<{ dir: string; done: Deferred<void> }>;
}

function harness(): Harness {
  const now = { ms: 5_000_000 };
  const started: Harness['started'] = [];
  const refreshes = new Refreshes((_req, vary) => {
    const done = deferred();
    started.push({ dir: vary[0]!, done });
    return done.promise;
  }, () => now.ms);
  return { refreshes, now, started };
}

/** Lets the refresh's end reach the Refreshes. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('stale-while-revalidate refreshes', () => {
  it('stale hits of one version start one refresh while it runs, and none for SETTLE_MS after it ended', async () => {
    const h = harness();
    for (let i = 0; i < 5; i++) h.refreshes.start(req, entry('a/'));
    assert.equal(h.started.length, 1, 'five stale hits at once: one refresh');
    h.now.ms += 60_000;
    h.refreshes.start(req, entry('a/'));
    assert.equal(h.started.length, 1, 'a refresh that runs long is still the one');
    h.started[0]!.done.resolve();
    await settle();
    h.now.ms += SETTLE_MS - 1;
    h.refreshes.start(req, entry('a/'));
    assert.equal(h.started.length, 1, 'its answer is being stored: no second refresh yet');
    h.now.ms += 1;
    h.refreshes.start(req, entry('a/'));
    assert.equal(h.started.length, 2, 'still the same version SETTLE_MS after: that refresh stored nothing, ask again');
  });

  it('a failed refresh ends too', async () => {
    const h = harness();
    h.refreshes.start(req, entry('a/'));
    h.started[0]!.done.reject(new Error('connection refused'));
    await settle();
    h.now.ms += SETTLE_MS;
    h.refreshes.start(req, entry('a/'));
    assert.equal(h.started.length, 2);
  });

  it('a new version (a fill or a 304 stored it) that is stale again is refreshed at once; other variants and URLs have their own', async () => {
    const h = harness();
    h.refreshes.start(req, entry('a/'));
    h.started[0]!.done.resolve();
    await settle();
    h.refreshes.start(req, entry('a/', 2_000));
    h.refreshes.start(req, entry('a/v-1/'));
    h.refreshes.start(req, entry('b/'));
    assert.deepEqual(h.started.map((s) => s.dir), ['a/', 'a/', 'a/v-1/', 'b/']);
  });

  it('forgets versions whose refresh ended long ago', async () => {
    const h = harness();
    for (let i = 0; i < 100; i++) h.refreshes.start(req, entry(`u${i}/`));
    for (const s of h.started) s.done.resolve();
    await settle();
    assert.equal(h.refreshes.size, 100);
    h.now.ms += SETTLE_MS;
    h.refreshes.start(req, entry('last/'));
    assert.equal(h.refreshes.size, 1, 'only the running one is remembered');
  });
});
