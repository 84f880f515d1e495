import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finishWithoutClient, type QuickAbort } from './quick-abort.js';

const MiB = 1024 * 1024;
const policy: QuickAbort = { minLeft: MiB, maxLeft: 64 * MiB, percent: 75 };

test('quick abort: little left finishes, too much left aborts, in between the share read decides', () => {
  assert.equal(finishWithoutClient(policy, 99 * MiB, 100 * MiB, 0), true, '1 MiB left');
  assert.equal(finishWithoutClient(policy, 10 * MiB, 100 * MiB, 0), false, '90 MiB left: over the maximum');
  assert.equal(finishWithoutClient(policy, 75 * MiB, 100 * MiB, 0), true, '25 MiB left, 75% read');
  assert.equal(finishWithoutClient(policy, 74 * MiB, 100 * MiB, 0), false, '26 MiB left, 74% read');
  assert.equal(finishWithoutClient(policy, 0, MiB, 0), true, 'a body of at most 1 MiB is always finished');
});

test('quick abort: an unknown length is aborted unless followers read the fetch, which always goes on', () => {
  assert.equal(finishWithoutClient(policy, 99 * MiB, -1, 0), false);
  assert.equal(finishWithoutClient(policy, 1, -1, 1), true);
  assert.equal(finishWithoutClient(policy, 1, 1000 * MiB, 2), true);
});

test('quick abort: min 0 and pct 100 always abort; a huge min always finishes', () => {
  const never: QuickAbort = { minLeft: 0, maxLeft: 64 * MiB, percent: 100 };
  assert.equal(finishWithoutClient(never, 99 * MiB, 100 * MiB, 0), false);
  const always: QuickAbort = { minLeft: Number.MAX_SAFE_INTEGER, maxLeft: Number.MAX_SAFE_INTEGER, percent: 0 };
  assert.equal(finishWithoutClient(always, 0, 100 * MiB, 0), true);
});
