import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TIMED_OUT, within } from './deadline.js';
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
