/**
 * The lookup's early body, in process: unclaimed, a small one is drained (its store connection is
 * reused) and a large one destroyed; a stale entry's small body is held as bytes for the answer to
 * its revalidation, a large one released; a body broken while held is not served.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { DRAIN_MAX, EarlyBody, HOLD_MAX } from './early-body.js';

function source(bytes: number): PassThrough {
  const body = new PassThrough();
  body.end(Buffer.alloc(bytes, 1));
  return body;
}

describe('early body', () => {
  it('an unclaimed small body is read to its end (its connection reused), a large one destroyed', async () => {
    const small = source(100);
    new EarlyBody(small, 100);
    await once(small, 'end');
    assert.equal(small.readableEnded, true);
    const large = new PassThrough();
    new EarlyBody(large, DRAIN_MAX + 1);
    await once(large, 'close');
    assert.equal(large.readableEnded, false, 'destroyed, not read');
  });

  it('a held small body is read whole and given as a stream of the same bytes', async () => {
    const body = source(1000);
    const early = new EarlyBody(body, 1000);
    early.hold();
    await new Promise((resolve) => setImmediate(resolve));
    const taken = await early.take();
    assert.ok(taken !== null);
    assert.equal(Buffer.concat(await taken.toArray() as Buffer[]).length, 1000);
    assert.equal(await early.take(), null, 'once');
  });

  it('a held body the store breaks (or sends short) is not given', async () => {
    const body = new PassThrough();
    const early = new EarlyBody(body, 1000);
    early.hold();
    body.write(Buffer.alloc(10));
    body.destroy(new Error('store connection lost'));
    assert.equal(await early.take(), null);
    const short = source(10);
    const held = new EarlyBody(short, 1000);
    held.hold();
    assert.equal(await held.take(), null);
  });

  it('a stale body larger than HOLD_MAX is released, not held', async () => {
    const body = new PassThrough();
    const early = new EarlyBody(body, HOLD_MAX + 1);
    early.hold();
    assert.ok(body.destroyed);
    assert.equal(await early.take(), null);
  });
});
