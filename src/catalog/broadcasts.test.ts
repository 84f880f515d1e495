import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BroadcastQueue, RETRANSMIT_MULT } from './broadcasts.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('BroadcastQueue', () => {
  it('sends each item a bounded number of times that grows with the log of the cluster size, then stops', () => {
    for (const [n, sends] of [[1, RETRANSMIT_MULT], [9, RETRANSMIT_MULT], [10, 2 * RETRANSMIT_MULT], [500, 3 * RETRANSMIT_MULT]] as const) {
      const q = new BroadcastQueue(() => n);
      q.enqueue('a', bytes('record a'));
      let sent = 0;
      for (let round = 0; round < 100; round++) sent += q.take(3, 1400).length;
      assert.equal(sent, sends, `cluster of ${n}`);
      assert.equal(q.size, 0);
    }
  });

  it('replaces older news about the same record, and counts its sends afresh', () => {
    const q = new BroadcastQueue(() => 3);
    q.enqueue('a', bytes('v1'));
    q.take(0, 1400);
    q.enqueue('a', bytes('v2'));
    const seen = Array.from({ length: 10 }, () => q.take(0, 1400)).flat().map((b) => new TextDecoder().decode(b));
    assert.deepEqual(seen, Array(RETRANSMIT_MULT).fill('v2'));
  });

  it('fits the packet limit with the per-item overhead, least-sent first', () => {
    const q = new BroadcastQueue(() => 3);
    q.enqueue('old', bytes('x'.repeat(60)));
    q.take(10, 1400);
    q.enqueue('new1', bytes('y'.repeat(60)));
    q.enqueue('new2', bytes('z'.repeat(60)));
    const first = q.take(10, 140).map((b) => new TextDecoder().decode(b)[0]);
    assert.deepEqual(first, ['y', 'z'], 'two items of 70 fit in 140; the already-sent one waits');
  });
});
