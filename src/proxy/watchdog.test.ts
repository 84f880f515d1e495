import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamWatchdog, type WatchdogOwner } from './watchdog.js';

type Phase = 'head' | 'body' | 'upload';

/**
 * `p`, or a failure after 5 s. The watchdog's own timer is unref'd: this (ref'd) deadline is
 * also what keeps the test's event loop alive meanwhile.
 */
async function within<T>(p: Promise<T>): Promise<T> {
  let deadline: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { deadline = setTimeout(() => reject(new Error('no limit fired within 5 s')), 5_000); });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(deadline);
  }
}

/** An owner that records when a limit fired. */
function recorder(): WatchdogOwner & { fired: Promise<{ phase: Phase; at: number }> } {
  let hear!: (v: { phase: Phase; at: number }) => void;
  const fired = new Promise<{ phase: Phase; at: number }>((resolve) => { hear = resolve; });
  return { waitingOnClient: false, uploading: false, upstreamTimedOut: (phase) => hear({ phase, at: performance.now() }), fired };
}

test('the response limit counts from the last attempt, even when the timer was already running', async () => {
  const owner = recorder();
  const dog = new UpstreamWatchdog(80, 0, owner);
  // Attempts back to back, as a reused forwarder runs them: the running timer is left alone.
  for (let i = 0; i < 5; i++) {
    dog.start();
    dog.requestSent();
    dog.headSeen();
    dog.stop();
  }
  await new Promise((resolve) => setTimeout(resolve, 30));
  dog.start();
  const startedAt = performance.now();
  dog.requestSent();
  const { phase, at } = await within(owner.fired);
  assert.equal(phase, 'head');
  assert.ok(at - startedAt >= 80, `fired ${at - startedAt} ms after the request was sent`);
});

test('a stopped attempt never fires, and the next one still does', async () => {
  const owner = recorder();
  const dog = new UpstreamWatchdog(40, 0, owner);
  let early = false;
  owner.upstreamTimedOut = () => { early = true; };
  dog.start();
  dog.requestSent();
  dog.stop();
  // Two ticks later the stopped attempt has had every chance to fire.
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.equal(early, false);
  const next = recorder();
  owner.upstreamTimedOut = next.upstreamTimedOut;
  dog.start();
  dog.requestSent();
  assert.equal((await within(next.fired)).phase, 'head');
});
