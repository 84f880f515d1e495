import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestBackend } from './support/backends.js';
import { startOutrigger, type Outrigger } from './support/outrigger.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { Cleanup } from './support/cleanup.js';

const cleanup = new Cleanup();

/** Far longer than any test waits: a process that honours it fails exitCode() below. */
const LONG_DRAIN = '10m';

/** The exit code, or a failure when the process is still running after 30 s (a tenth of nothing: the drain is 10 min). */
async function exitCode(o: Outrigger): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('still draining 30 s after the second signal')), 30_000); });
  try { return await Promise.race([o.exit(), late]); } finally { clearTimeout(timer); }
}

for (const [first, second, code] of [['SIGINT', 'SIGINT', 130], ['SIGTERM', 'SIGTERM', 143], ['SIGTERM', 'SIGINT', 130]] as const) {
  test(`a second signal during the drain exits at once (${first}, then ${second})`, async () => {
    const stuck = await new TestBackend('stuck', (req) => { req.resume(); }).listen();
    // Tracked before the start: if the start fails, a backend left listening keeps the file from ending.
    cleanup.track(stuck);
    const o = await startOutrigger(['--health-path', '/health', '--shutdown-timeout', LONG_DRAIN, stuck.url]);
    cleanup.track(o);
    const pending = request(`${o.base}/never`).catch((e: Error) => e);
    await waitFor(() => stuck.hits === 1, 10_000, 'the request to reach the backend');
    o.signal(first);
    await o.output(new RegExp(`${first}: draining`));
    // Still draining: the request holds the process, and would for ten minutes.
    assert.equal(o.proc.exitCode, null);
    o.signal(second);
    assert.equal(await exitCode(o), code);
    assert.match(o.stdout, new RegExp(`${second} during drain: exiting now`));
    assert.ok((await pending) instanceof Error, 'the cut request fails at the client');
  });
}

test('with --workers 2, a second SIGINT to the primary ends the workers at once too', async () => {
  const stuck = await new TestBackend('stuck', (req) => { req.resume(); }).listen();
  cleanup.track(stuck);
  const o = await startOutrigger(['--health-path', '/health', '--workers', '2', '--shutdown-timeout', LONG_DRAIN, stuck.url]);
  cleanup.track(o);
  const pending = request(`${o.base}/never`).catch((e: Error) => e);
  await waitFor(() => stuck.hits === 1, 10_000, 'the request to reach the backend');
  o.signal('SIGINT');
  await o.output(/SIGINT: draining/);
  o.signal('SIGINT');
  assert.equal(await exitCode(o), 0);
  assert.ok((await pending) instanceof Error, 'the cut request fails at the client');
});
