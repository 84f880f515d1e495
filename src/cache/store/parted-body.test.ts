/** In-process tests of the read-ahead of large hits: how a body is cut into ranges, their order, lanes, failures, the budget. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { PartedBody, ReadAheadBudget, partsOf } from './parted-body.js';
import type { ByteRange } from './s3-store.js';

const DATA = Buffer.from(Array.from({ length: 100 }, (_, i) => i));

/** A fake store: each range opens after a turn of the event loop; `answers` can replace a range's answer. */
function fakeStore(answers: (range: ByteRange) => Readable | null | Error = (r) => Readable.from([DATA.subarray(r.start, r.end + 1)])) {
  const opened: ByteRange[] = [];
  let open = 0;
  let mostOpen = 0;
  const openRange = (range: ByteRange): Promise<Readable | null> => new Promise((resolve, reject) => {
    opened.push(range);
    setImmediate(() => {
      const answer = answers(range);
      if (answer instanceof Error) return reject(answer);
      if (answer !== null) {
        open++;
        mostOpen = Math.max(mostOpen, open);
        answer.once('close', () => open--);
      }
      resolve(answer);
    });
  });
  return { opened, openRange, mostOpen: () => mostOpen, open: () => open };
}

function parted(range: ByteRange, partSize: number, lanes: number, store: ReturnType<typeof fakeStore>): { body: PartedBody; releases: () => number } {
  const parts = partsOf(range, partSize);
  let releases = 0;
  const first = Readable.from([DATA.subarray(parts[0]!.start, parts[0]!.end + 1)]);
  const body = new PartedBody(parts, first, lanes, store.openRange, () => releases++);
  return { body, releases: () => releases };
}

describe('read-ahead of large hits', () => {
  it('cuts a range into consecutive absolute parts, the last one shorter', () => {
    assert.deepEqual(partsOf({ start: 0, end: 9 }, 4), [{ start: 0, end: 3 }, { start: 4, end: 7 }, { start: 8, end: 9 }]);
    assert.deepEqual(partsOf({ start: 5, end: 12 }, 4), [{ start: 5, end: 8 }, { start: 9, end: 12 }]);
    assert.deepEqual(partsOf({ start: 7, end: 7 }, 4), [{ start: 7, end: 7 }]);
  });

  it('streams the parts in order, byte for byte, with at most `lanes` ranges open at once, and releases its budget once', async () => {
    for (const lanes of [1, 2, 3]) {
      const store = fakeStore();
      const { body, releases } = parted({ start: 3, end: 97 }, 10, lanes, store);
      const got = Buffer.concat(await body.toArray() as Buffer[]);
      assert.deepEqual(got, DATA.subarray(3, 98), `lanes ${lanes}`);
      assert.deepEqual(store.opened.map((r) => r.start), [13, 23, 33, 43, 53, 63, 73, 83, 93], 'asked in order, after the first');
      assert.ok(store.mostOpen() <= lanes, `at most ${lanes} ranges open at once (saw ${store.mostOpen()})`);
      assert.equal(releases(), 1);
    }
  });

  it('asks for the next range while the current one is still streaming', async () => {
    const store = fakeStore();
    const parts = partsOf({ start: 0, end: 29 }, 10);
    const first = new PassThrough();
    const body = new PartedBody(parts, first, 2, store.openRange, () => undefined);
    first.write(DATA.subarray(0, 5));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(store.opened.map((r) => r.start), [10], 'the second range is asked for before the first ended');
    first.end(DATA.subarray(5, 10));
    assert.deepEqual(Buffer.concat(await body.toArray() as Buffer[]), DATA.subarray(0, 30));
  });

  it('a range the store no longer has (412) cuts the body with an error after the bytes before it, never a short end', async () => {
    const store = fakeStore((r) => (r.start === 40 ? null : Readable.from([DATA.subarray(r.start, r.end + 1)])));
    const { body, releases } = parted({ start: 0, end: 99 }, 10, 2, store);
    let got = 0;
    body.on('data', (chunk: Buffer) => { got += chunk.length; });
    await assert.rejects(new Promise((resolve, reject) => { body.once('end', resolve); body.once('error', reject); }), /changed while it was read/);
    assert.equal(got, 40);
    assert.equal(releases(), 1);
    await new Promise((r) => setImmediate(r));
    assert.equal(store.open(), 0, 'ranges opened ahead are closed');
  });

  it('a range that breaks off or fails to open cuts the body', async () => {
    const broken = fakeStore((r) => (r.start === 20 ? new Readable({ read() { this.destroy(new Error('the store connection closed 5 bytes before the end of the body')); } }) : Readable.from([DATA.subarray(r.start, r.end + 1)])));
    await assert.rejects(parted({ start: 0, end: 99 }, 10, 3, broken).body.toArray(), /closed 5 bytes before the end/);
    const refused = fakeStore((r) => (r.start === 10 ? new Error('GET body: 500 InternalError') : Readable.from([DATA.subarray(r.start, r.end + 1)])));
    await assert.rejects(parted({ start: 0, end: 99 }, 10, 2, refused).body.toArray(), /500 InternalError/);
  });

  it('a client that leaves destroys the current range and those opened ahead, and releases the budget', async () => {
    const store = fakeStore((r) => new PassThrough().end(DATA.subarray(r.start, r.end + 1)) as PassThrough);
    const parts = partsOf({ start: 0, end: 99 }, 10);
    const first = new PassThrough();
    let releases = 0;
    const body = new PartedBody(parts, first, 3, store.openRange, () => releases++);
    await new Promise((r) => setImmediate(r));
    body.destroy();
    await new Promise((r) => setImmediate(r));
    assert.equal(first.destroyed, true);
    assert.equal(store.open(), 0);
    assert.equal(releases, 1);
  });

  it('bounds the read-ahead of all hits with one budget', () => {
    const budget = new ReadAheadBudget(16);
    assert.equal(budget.take(8), true);
    assert.equal(budget.take(8), true);
    assert.equal(budget.take(1), false, 'used up: the next hit is read as one stream');
    budget.give(8);
    assert.equal(budget.available, 8);
  });
});
