import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough, type Readable } from 'node:stream';
import { once } from 'node:events';
import { deferredBody } from './answers.js';
import { StoreDeadline, TIMED_OUT, within } from './deadline.js';
import { deferred } from '../../test/support/flow.js';

describe('store deadline', () => {
  it('passes a value or an error that comes in time', async () => {
    assert.equal(await within(Promise.resolve(7), 10_000, () => assert.fail('nothing is late')), 7);
    await assert.rejects(within(Promise.reject(new Error('refused')), 10_000, () => undefined), /refused/);
  });

  it('gives TIMED_OUT after the deadline, and hands a value that comes later to discard', async () => {
    const work = deferred<string>();
    const discarded: string[] = [];
    assert.equal(await within(work.promise, 1, (late) => discarded.push(late)), TIMED_OUT);
    work.resolve('an open body');
    await work.promise;
    await Promise.resolve();
    assert.deepEqual(discarded, ['an open body']);
  });

  it('ignores a failure after the deadline (no unhandled rejection)', async () => {
    const work = deferred<string>();
    assert.equal(await within(work.promise, 1, () => assert.fail('a failure is not a value')), TIMED_OUT);
    work.reject(new Error('late failure'));
    await work.promise.catch(() => undefined);
  });

  it('0 means no deadline', async () => {
    const work = deferred<number>();
    const result = within(work.promise, 0, () => undefined);
    work.resolve(3);
    assert.equal(await result, 3);
  });
});

describe('a deferred store body (an answer made after a 304 or for stale-if-error)', () => {
  it('breaks when the store has not opened the body within the deadline, tells of it once, and releases a body opened later', async () => {
    let late = 0;
    const opening = deferred<Readable | null>();
    const out = deferredBody(opening.promise, new StoreDeadline(20, () => late++));
    const [err] = await once(out, 'error') as [Error];
    assert.match(err.message, /did not send the stored body within 20 ms/);
    assert.equal(late, 1);
    const source = new PassThrough();
    opening.resolve(source);
    await once(source, 'close');
    assert.ok(source.destroyed, 'the body opened after the deadline is released');
  });

  it('passes a body opened in time through whole', async () => {
    const source = new PassThrough();
    const out = deferredBody(Promise.resolve(source), new StoreDeadline(10_000, () => assert.fail('not late')));
    source.end('stored bytes');
    assert.equal(Buffer.concat(await out.toArray() as Buffer[]).toString(), 'stored bytes');
  });

  it('releases a body that opens after the client left', async () => {
    const opening = deferred<Readable | null>();
    const out = deferredBody(opening.promise, new StoreDeadline(10_000, () => assert.fail('not late')));
    out.destroy();
    const source = new PassThrough();
    opening.resolve(source);
    await once(source, 'close');
    assert.ok(source.destroyed);
  });
});
