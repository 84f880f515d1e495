// Lifeguard's pieces in isolation, with a virtual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Awareness } from './awareness.js';
import { BroadcastQueue } from './broadcast-queue.js';
import { pushPullScale, retransmitLimit, suspicionTimeout, LAN_DEFAULTS, WAN_DEFAULTS } from './config.js';
import { remainingSuspicionTime, Suspicion } from './suspicion.js';
import { VirtualClock } from '../sim/virtual-clock.js';

test('defaults are memberlist DefaultLANConfig / DefaultWANConfig', () => {
  assert.equal(LAN_DEFAULTS.probeInterval, 1000);
  assert.equal(LAN_DEFAULTS.probeTimeout, 500);
  assert.equal(LAN_DEFAULTS.suspicionMult, 4);
  assert.equal(LAN_DEFAULTS.gossipInterval, 200);
  assert.equal(LAN_DEFAULTS.pushPullInterval, 30_000);
  assert.equal(WAN_DEFAULTS.probeInterval, 5000);
  assert.equal(WAN_DEFAULTS.suspicionMult, 6);
});

test('suspicion timeout: 4 s up to 10 nodes, 8 s at 100; retransmits 4 below 10 nodes, 8 from 10', () => {
  assert.equal(suspicionTimeout(4, 5, 1000), 4000);
  assert.equal(suspicionTimeout(4, 100, 1000), 8000);
  assert.equal(retransmitLimit(4, 9), 4);
  assert.equal(retransmitLimit(4, 10), 8);
  assert.equal(pushPullScale(30_000, 32), 30_000);
  assert.equal(pushPullScale(30_000, 64), 60_000);
});

test('Lifeguard suspicion starts at max and shrinks to min after k independent confirmations', async () => {
  const clock = new VirtualClock();
  let firedAt = -1;
  const s = new Suspicion(clock, 'a', 2, 4000, 24_000, () => { firedAt = clock.now(); });
  await clock.advance(1000);
  assert.equal(s.confirm('a'), false, 'the first accuser does not confirm itself');
  assert.equal(s.confirm('b'), true);
  assert.equal(s.confirm('b'), false, 'one accuser counts once');
  // after one of two confirmations: max − (max−min)·ln2/ln3
  assert.equal(remainingSuspicionTime(1, 2, 0, 4000, 24_000), Math.floor(24_000 - 20_000 * Math.log(2) / Math.log(3)));
  assert.equal(s.confirm('c'), true);
  assert.equal(s.confirm('d'), false, 'no more than k');
  await clock.advance(10_000);
  assert.equal(firedAt, 4000, 'fires at min once k confirmations arrived');
});

test('without expected confirmations (k = 0) the timer is min', async () => {
  const clock = new VirtualClock();
  let fired = false;
  new Suspicion(clock, 'a', 0, 4000, 24_000, () => { fired = true; });
  await clock.advance(3999);
  assert.equal(fired, false);
  await clock.advance(1);
  assert.equal(fired, true);
});

test('awareness: score bounded 0…max−1, scales timeouts, off without Lifeguard', () => {
  const a = new Awareness(8);
  assert.equal(a.scaleTimeout(1000), 1000);
  a.applyDelta(3);
  assert.equal(a.scaleTimeout(1000), 4000);
  a.applyDelta(100);
  assert.equal(a.health, 7);
  a.applyDelta(-100);
  assert.equal(a.health, 0);
  const off = new Awareness(8, false);
  off.applyDelta(5);
  assert.equal(off.scaleTimeout(1000), 1000);
});

test('broadcast queue: retransmit limit, least-sent first, newer about a node replaces older, size budget', () => {
  let n = 5;
  const q = new BroadcastQueue(4, () => n);
  let done = 0;
  q.queue('x', Uint8Array.of(1), () => { done++; });
  q.queue('x', Uint8Array.of(2));
  assert.equal(done, 1, 'the replaced broadcast is finished');
  q.queue(null, new Uint8Array(100));
  assert.deepEqual(q.get(2, 50), [Uint8Array.of(2)], 'the 100-byte one does not fit');
  for (let i = 0; i < 3; i++) q.get(2, 1000);
  assert.equal(q.length, 1, 'x was sent 4 times (limit for 5 nodes) and dropped');
  n = 50;
  for (let i = 0; i < 4; i++) q.get(2, 1000);
  assert.equal(q.length, 1, 'limit is 8 at 50 nodes: 7 sends so far');
  q.get(2, 1000);
  assert.equal(q.length, 0);
});
