import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBackends } from './support/backends.js';
import { runCli, startOutrigger } from './support/outrigger.js';
import { request } from './support/client.js';
import { Cleanup } from './support/cleanup.js';
import { waitFor } from './support/wait.js';

const cleanup = new Cleanup();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-split-'));
cleanup.add(async () => fs.rmSync(dir, { recursive: true, force: true }));

/** `count` GETs, `concurrency` at a time; returns how many each backend answered. */
async function spread(url: string, count: number, concurrency: number, headers: (i: number) => Record<string, string> = () => ({})): Promise<Map<string, number>> {
  const byBackend = new Map<string, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const r = await request(url, { headers: headers(i) });
      assert.equal(r.status, 200);
      byBackend.set(r.text, (byBackend.get(r.text) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return byBackend;
}

test('--split 95/5 sends 5% of 10,000 requests to the second site, within statistical bounds', async () => {
  const stable = await startBackends(2, 'stable');
  const canary = await startBackends(1, 'canary');
  const o = await startOutrigger(['--health-path', '/health', '--split', '95/5',
    stable.map((b) => b.url).join(','), canary[0]!.url]);
  cleanup.track(o, ...stable, ...canary);
  const counts = await spread(`${o.base}/x`, 10_000, 16);
  const toCanary = counts.get('canary1') ?? 0;
  // Binomial(10000, 0.05): mean 500, standard deviation 21.8; ±5 sd.
  assert.ok(toCanary >= 391 && toCanary <= 609, `canary got ${toCanary} of 10000: ${JSON.stringify([...counts])}`);
  assert.ok((counts.get('stable1') ?? 0) > 3000 && (counts.get('stable2') ?? 0) > 3000, 'the stable site balances as usual');
});

test('--split with --hash-key keeps each client on its side of the split', async () => {
  const a = await startBackends(1, 'a');
  const b = await startBackends(1, 'b');
  const o = await startOutrigger(['--health-path', '/health', '--split', '50/50', '--hash-key', 'header:X-User', a[0]!.url, b[0]!.url]);
  cleanup.track(o, ...a, ...b);
  const side = new Map<string, string>();
  for (let round = 0; round < 3; round++) {
    for (let u = 0; u < 100; u++) {
      const r = await request(`${o.base}/x`, { headers: { 'X-User': `user-${u}` } });
      const seen = side.get(`user-${u}`);
      if (seen === undefined) side.set(`user-${u}`, r.text);
      else assert.equal(r.text, seen, `user-${u} changed sides`);
    }
  }
  const onA = [...side.values()].filter((s) => s === 'a1').length;
  assert.ok(onA > 25 && onA < 75, `${onA} of 100 users on the first site`);
});

test('--split with a sites file: a file that would change the number of sites is refused, at start and on reload, keeping the split', async () => {
  const [a, b, c] = await startBackends(3, 'site');
  cleanup.track(a!, b!, c!);
  const file = path.join(dir, 'sites');
  fs.writeFileSync(file, `${a!.url}\n${b!.url}\n${c!.url}\n`);
  const refused = await runCli(['--address', '127.0.0.1:0', '--split', '50/50', '--sites-file', file]);
  assert.equal(refused.code, 2, refused.stdout);
  assert.match(refused.stderr, /--sites-file: .*sites: --split 50\/50: 2 weights for 3 sites \(give one weight per SITE\)/);

  fs.writeFileSync(file, `${a!.url}\n${b!.url}\n`);
  const o = await startOutrigger(['--health-path', '/health', '--split', '50/50', '--sites-file', file]);
  cleanup.track(o);
  fs.writeFileSync(file, `${a!.url}\n${b!.url}\n${c!.url}\n`);
  o.proc.kill('SIGHUP');
  await o.output(/sites file not applied, keeping the 2 sites in use:\n.*--split 50\/50: 2 weights for 3 sites/);
  const counts = await spread(`${o.base}/x`, 400, 8);
  assert.equal(counts.get('site3'), undefined, 'the refused third site gets nothing');
  // Binomial(400, 0.5): sd 10; the split still holds.
  for (const site of ['site1', 'site2']) assert.ok(Math.abs((counts.get(site) ?? 0) - 200) < 60, JSON.stringify([...counts]));

  fs.writeFileSync(file, `${a!.url}\n${c!.url}\n`);
  o.proc.kill('SIGHUP');
  await o.output(/sites file .* applied: 2 sites, 2 backends/);
  await waitFor(async () => (await spread(`${o.base}/x`, 50, 4)).has('site3'), 10_000, 'the second site replaced by a good file');
});
