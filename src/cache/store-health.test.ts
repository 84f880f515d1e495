import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StoreHealth } from './store-health.js';
import { deferred, type Deferred } from '../../test/support/flow.js';

const DEADLINE_MS = 1_000;
const INTERVAL_MS = 60_000;

/** Timers on a clock the test moves: `advance` fires those due, in order. */
class ManualTimers {
  now = 0;
  private pending: Array<{ at: number; fn: () => void; cleared: boolean }> = [];

  readonly set = (fn: () => void, ms: number): object => {
    const timer = { at: this.now + ms, fn, cleared: false };
    this.pending.push(timer);
    return timer;
  };

  readonly clear = (timer: unknown): void => {
    (timer as { cleared: boolean }).cleared = true;
  };

  /** Moves the clock by `ms`, firing every timer due by then (and letting the promises they settle run). */
  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    for (;;) {
      await settle();
      const due = this.pending.filter((t) => !t.cleared && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.pending.splice(this.pending.indexOf(due), 1);
      this.now = due.at;
      due.fn();
    }
    this.now = until;
    await settle();
  }
}

/** Lets every promise callback already queued run (a probe's answer reaching the health). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Harness {
  health: StoreHealth;
  timers: ManualTimers;
  flips: string[];
  /** One per probe sent, answered (or not) by the test. */
  probes: Array<Deferred<void>>;
}

function harness(deadlineMs = DEADLINE_MS): Harness {
  const timers = new ManualTimers();
  const flips: string[] = [];
  const probes: Array<Deferred<void>> = [];
  const health = new StoreHealth({
    intervalMs: INTERVAL_MS, deadlineMs,
    probe: () => {
      const probe = deferred();
      probes.push(probe);
      return probe.promise;
    },
    report: (up, reason) => flips.push(`${up ? 'up' : 'down'}: ${reason}`),
    setTimer: timers.set, clearTimer: timers.clear,
  });
  return { health, timers, flips, probes };
}

/** Moves the clock to the moment the next probe is sent; returns that probe. */
async function nextProbe(h: Harness): Promise<Deferred<void>> {
  const sent = h.probes.length;
  for (let waited = 0; h.probes.length === sent; waited += 100) {
    assert.ok(waited <= 2 * INTERVAL_MS, 'a probe every interval');
    await h.timers.advance(100);
  }
  return h.probes.at(-1)!;
}

/** Starts `h` with a first probe answered in time: the store is up. */
async function startUp(h: Harness): Promise<void> {
  const started = h.health.start();
  h.probes[0]!.resolve();
  await started;
  assert.deepEqual(h.flips, ['up: the store answers']);
}

describe('store health probe', () => {
  it('a probe not answered within the deadline marks the store down then, and its late answer does not bring it up', async () => {
    const h = harness();
    const started = h.health.start();
    await h.timers.advance(DEADLINE_MS - 1);
    assert.deepEqual(h.flips, [], 'within the deadline: still waiting');
    await h.timers.advance(1);
    await started;
    assert.deepEqual(h.flips, [`down: the probe got no answer in ${DEADLINE_MS} ms`]);
    h.probes[0]!.resolve();
    await settle();
    assert.equal(h.health.up, false, 'an answer after the deadline is a late one');
    assert.deepEqual(h.flips.length, 1);
  });

  it('a store that answers every call late stays down: it no longer flaps back up with each probe', async () => {
    const h = harness();
    await startUp(h);
    for (let i = 0; i < 3; i++) h.health.slow(`got no answer in ${DEADLINE_MS} ms`);
    assert.equal(h.health.up, false);
    for (let round = 1; round <= 3; round++) {
      const probe = await nextProbe(h);
      await h.timers.advance(DEADLINE_MS + 500);
      probe.resolve();
      await settle();
      assert.equal(h.health.up, false, `probe ${round}, answered ${DEADLINE_MS + 500} ms after it was sent`);
    }
    assert.equal(h.flips.filter((f) => f.startsWith('up')).length, 1, 'only the first probe brought it up');
    (await nextProbe(h)).resolve();
    await settle();
    assert.equal(h.health.up, true, 'a probe answered in time brings it back');
    assert.deepEqual(h.flips.at(-1), 'up: the store answers');
  });

  it('a late probe while up is one late store call of the three that mark the store down', async () => {
    const h = harness();
    await startUp(h);
    h.health.slow('got no answer');
    h.health.slow('got no answer');
    await h.timers.advance(INTERVAL_MS + DEADLINE_MS);
    assert.equal(h.health.up, false);
    assert.match(h.flips.at(-1)!, /^down: 3 store calls in a row got no answer in 1000 ms$/);
  });

  it('sends no second probe while one is unanswered, and a failed probe marks the store down', async () => {
    const h = harness();
    await startUp(h);
    await h.timers.advance(INTERVAL_MS + DEADLINE_MS);
    await h.timers.advance(INTERVAL_MS);
    assert.equal(h.probes.length, 2, 'the second probe still has no answer: no third one');
    h.probes[1]!.reject(new Error('refused'));
    await h.timers.advance(INTERVAL_MS);
    assert.equal(h.probes.length, 3);
    h.probes[2]!.reject(Object.assign(new Error('no bucket'), { code: 'NoSuchBucket' }));
    await settle();
    assert.match(h.flips.at(-1)!, /^down: NoSuchBucket: no bucket$/);
  });

  it('deadline 0: the probe may take as long as the store client allows', async () => {
    const h = harness(0);
    const started = h.health.start();
    await h.timers.advance(30_000);
    assert.deepEqual(h.flips, []);
    h.probes[0]!.resolve();
    await started;
    assert.deepEqual(h.flips, ['up: the store answers']);
  });

  it('stop(): no probe after it', async () => {
    const h = harness();
    await startUp(h);
    h.health.stop();
    await h.timers.advance(10 * INTERVAL_MS);
    assert.equal(h.probes.length, 1);
  });
});
