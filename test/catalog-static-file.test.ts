// Sidecar's static discovery file (STATIC_CONFIG_FILE) in a real Outrigger process: read at start,
// watched, a bad edit keeping the services in use, a removed entry tombstoned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Fixtures } from './support/fixtures.js';
import { runCli, startOutrigger } from './support/outrigger.js';
import { waitFor } from './support/wait.js';
import { catalogNodeOf, servicesOf, STATUS } from './support/catalog-nodes.js';

const fx = new Fixtures();

test('the static file is watched: new entries announced, a bad edit keeps the services, a removed one is tombstoned', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-static-'));
  fx.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const [web, api] = await Promise.all([fx.backendOf('web'), fx.backendOf('api')]);
  const entry = (name: string, port: number): unknown => ({
    Service: { Name: name, Image: `org/${name}:1`, Ports: [{ Type: 'tcp', Port: port, ServicePort: 8080 }] },
    Check: { Type: 'HttpGet', Args: 'http://{{ host }}:{{ tcp 8080 }}/health' },
  });
  const file = path.join(dir, 'static.json');
  fs.writeFileSync(file, JSON.stringify([entry('web', web.port)]));
  // The file given through Sidecar's env name.
  const p = await startOutrigger(['--api-address', '127.0.0.1:0', '--node-name', 's1', '--log', '--service-check-interval', '300ms', 'http://127.0.0.1:9'],
    { STATIC_CONFIG_FILE: file });
  fx.track(p);
  const node = await catalogNodeOf('s1', p);
  const statusOf = async (name: string): Promise<number | undefined> => (await servicesOf(node)).Services[name]?.[0]?.Status;
  await waitFor(async () => (await statusOf('web')) === STATUS.ALIVE, 10_000, 'web ALIVE');

  fs.writeFileSync(file, JSON.stringify([entry('web', web.port), entry('api', api.port)]));
  await waitFor(async () => (await statusOf('api')) === STATUS.ALIVE, 15_000, 'api announced after the edit');

  fs.writeFileSync(file, '[{"Service": {"Name": "web", "Ports": "nope"}}]');
  await node.o.output(/static config .*static\.json: entry 1 \(web\): "Ports" must be a list; keeping the services in use/, 15_000);
  assert.deepEqual([await statusOf('web'), await statusOf('api')], [STATUS.ALIVE, STATUS.ALIVE]);

  fs.writeFileSync(file, JSON.stringify([entry('api', api.port)]));
  await waitFor(async () => (await statusOf('web')) === STATUS.TOMBSTONE, 15_000, 'web tombstoned once removed from the file');
  assert.equal(await statusOf('api'), STATUS.ALIVE);
});

test('a bad static file stops the start, naming the file and the entry', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-static-'));
  fx.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'bad.json');
  fs.writeFileSync(file, '[{"Service": {"Name": "web", "Ports": [{"Port": 80}]}, "Check": {"Type": "Ping"}}]');
  const r = await runCli(['--static-config-file', file, 'http://127.0.0.1:9']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--static-config-file: .*bad\.json: entry 1 \(web\): Check Type must be one of HttpGet, External, TCP, AlwaysSuccessful/);
});
