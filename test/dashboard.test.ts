// The catalog dashboard (/ui/) in real Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) against 3 real Outrigger processes gossiping on loopback: it shows the members
// and services, and follows the cluster live when a node is killed (kill -9).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Fixtures } from './support/fixtures.js';
import { seedOf, startCatalogNode, STATUS, untilEverywhere } from './support/catalog-nodes.js';

const CHROMIUM = '/usr/bin/chromium';
const fx = new Fixtures();

test('the dashboard shows members and services, and changes when a node dies', {
  skip: fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (Debian package chromium): the dashboard is not tested in a browser`,
  timeout: 90_000,
}, async (t) => {
  const backends = await Promise.all(['echo0', 'echo1', 'echo2'].map((n) => fx.backendOf(n)));
  const n0 = await startCatalogNode(fx, 'n0', [['echo', backends[0]!]]);
  const others = await Promise.all([1, 2].map((i) => startCatalogNode(fx, `n${i}`, [['echo', backends[i]!]], ['--join', seedOf(n0)])));
  const nodes = [n0, ...others];
  for (const b of backends) await untilEverywhere(nodes, b.port, STATUS.ALIVE, `${b.name} ALIVE everywhere`);

  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-chromium-'));
  fx.push(async () => fs.rmSync(profile, { recursive: true, force: true }));
  // A fresh profile per run; a phone's viewport, where the page must read too.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    viewport: { width: 390, height: 844 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  fx.push(() => context.close());
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${n0.api}/ui/`);

  const memberState = (name: string): Promise<string | null> => page.locator(`tr[data-member="${name}"] .badge`).textContent({ timeout: 10_000 });
  await page.waitForFunction(() => document.querySelectorAll('tr[data-member]').length === 3, undefined, { timeout: 15_000 });
  for (const name of ['n0', 'n1', 'n2']) assert.equal(await memberState(name), 'alive');
  await page.waitForFunction(() => document.querySelectorAll('[data-service="echo"] tr[data-status="alive"]').length === 3, undefined, { timeout: 15_000 });
  assert.match(await page.locator('#status').textContent() ?? '', /live/);
  assert.ok(await page.locator('tr[data-backend]').count() >= 3, 'this node\'s sites list the echo backends');

  others[1]!.o.signal('SIGKILL');
  await page.waitForFunction(() => document.querySelector('tr[data-member="n2"] .badge')?.textContent === 'dead', undefined, { timeout: 40_000 });
  await page.waitForFunction(() => document.querySelectorAll('[data-service="echo"] tr[data-status="tombstone"]').length === 1, undefined, { timeout: 15_000 });
  assert.equal(await page.locator('[data-service="echo"] tr[data-status="tombstone"] td').first().textContent(), 'n2');
  assert.equal(await memberState('n1'), 'alive');

  const shot = path.join(os.tmpdir(), `outrigger-dashboard-${process.pid}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`dashboard screenshot after kill -9 of n2: ${shot}`);
  assert.deepEqual(problems, [], 'no script errors on the page');
});
