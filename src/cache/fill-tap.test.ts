import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Fill } from './fill.js';
import { fillTap, STORE_AFTER_BODY_MAX } from './fill-tap.js';
import type { StoreWrite } from './store/body-put.js';

/** A store write that records what reaches it and when (an in-process stand-in: the order is what is tested). */
class RecordedWrite implements StoreWrite {
  readonly held = 0;
  readonly failure = null;
  readonly inline = false;
  readonly events: string[] = [];
  write(chunk: Buffer): void { this.events.push(`write ${chunk.toString()}`); }
  async end(): Promise<string> { this.events.push('end'); return '"etag"'; }
  async abort(): Promise<void> { this.events.push('abort'); }
}

function tapFor(expected: number): { tap: ReturnType<typeof fillTap>; store: RecordedWrite; events: string[] } {
  const store = new RecordedWrite();
  const fill = new Fill(store, { expected, minSize: 0, maxBuffered: 64 * 1024 * 1024 });
  const events = store.events;
  const tap = fillTap({
    fill, flight: null, keepUpTo: 0, expected,
    ended: () => { events.push('body ended'); void fill.finish(); },
    aborted: (reason) => events.push(`aborted: ${reason}`),
    keepGoing: () => false,
  });
  return { tap, store, events };
}

describe('fill tap: when the store gets the body', () => {
  it('a body of known length up to STORE_AFTER_BODY_MAX reaches the store only after it has all passed', async () => {
    const { tap, events } = tapFor(6);
    tap.data(Buffer.from('abc'), 0, 3);
    tap.data(Buffer.from('xdefx'), 1, 4);
    assert.deepEqual(events, [], 'nothing written while the body passes');
    tap.end();
    await new Promise(setImmediate);
    assert.deepEqual(events, ['write abc', 'write def', 'body ended', 'end']);
  });

  it('a larger body, or one of unknown length, streams to the store as it passes', () => {
    for (const expected of [STORE_AFTER_BODY_MAX + 1, -1]) {
      const { tap, events } = tapFor(expected);
      tap.data(Buffer.from('abc'), 0, 3);
      assert.deepEqual(events, ['write abc'], `expected ${expected}`);
    }
  });

  it('a body that breaks off before its end never reaches the store', async () => {
    const { tap, events } = tapFor(6);
    tap.data(Buffer.from('abc'), 0, 3);
    tap.abort(Object.assign(new Error('cut'), { code: 'UPSTREAM_CLOSED' }) as never);
    await new Promise(setImmediate);
    assert.deepEqual(events, ['abort', 'aborted: UPSTREAM_CLOSED']);
  });
});
