/**
 * --service-listeners: one local port per ServicePort in the catalog, through real processes. The
 * ports listen on 127.0.0.2 (still loopback) so that a service port can equal the port of an
 * instance on 127.0.0.1, which is what `--service NAME=URL` announces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { runCli } from './support/outrigger.js';
import { seedOf, startCatalogNode } from './support/catalog-nodes.js';

const f = new Fixtures();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-service-ports-'));
f.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
const HOST = '127.0.0.2';

/** Whether 127.0.0.2 can be bound here (Linux routes all of 127/8 to loopback). */
async function secondLoopback(): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, HOST, () => server.close(() => resolve(true)));
  });
}
const skip = (await secondLoopback()) ? false : `${HOST} cannot be bound on this machine`;

/** A TCP echo server on 127.0.0.1 (kernel-picked port). */
async function echoServer(): Promise<net.Server> {
  const server = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  f.push(() => new Promise<void>((r) => server.close(() => r())));
  return server;
}

/** Send `text` over a fresh connection and read until the peer closes or `text.length` bytes came back. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const s = net.connect(port, HOST, () => s.write(text));
    s.setEncoding('utf8').on('data', (d: string) => {
      got += d;
      if (got.length >= text.length) s.end();
    });
    s.once('close', () => resolve(got));
    s.once('error', reject);
  });
}

test('an HTTP service port balances over the instances of every node, and follows their health', { skip, timeout: 90_000 }, async () => {
  const [one, two] = [await f.backendOf('one'), await f.backendOf('two')];
  const a = await startCatalogNode(f, 'a', [['echo', one]], ['--service-listeners', HOST]);
  // b announces its instance of echo on the same ServicePort as a's (a's backend port).
  const file = path.join(dir, 'b.json');
  fs.writeFileSync(file, JSON.stringify([{ Service: { Name: 'echo', Ports: [{ Port: two.port, ServicePort: one.port }] },
    Check: { Type: 'HttpGet', Args: `${two.url}/health` } }]));
  await startCatalogNode(f, 'b', [], ['--static-config-file', file, '--join', seedOf(a)]);
  await a.o.output(new RegExp(`service port ${HOST.replace(/\./g, '\\.')}:${one.port}: echo \\(http\\)`), 20_000);

  const seen = new Set<string>();
  await waitFor(async () => {
    const r = await request(`http://${HOST}:${one.port}/x`, { agent: false });
    if (r.status === 200) seen.add(String(r.headers['x-backend']));
    return seen.has('one') && seen.has('two');
  }, 30_000, 'both instances through the service port');

  // b's instance fails its check: the port sends everything to a's.
  two.healthy = false;
  const hitsBefore = two.hits;
  await waitFor(async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => request(`http://${HOST}:${one.port}/x`, { agent: false })));
    return answers.every((r) => r.status === 200 && r.headers['x-backend'] === 'one');
  }, 30_000, 'only the healthy instance');
  const settled = two.hits;
  for (let i = 0; i < 10; i++) assert.equal((await request(`http://${HOST}:${one.port}/x`, { agent: false })).headers['x-backend'], 'one');
  assert.equal(two.hits, settled, `no request reached the failed instance once it was out (${settled - hitsBefore} before)`);
});

test('a tcp service port relays bytes both ways, and closes when its service goes', { skip, timeout: 60_000 }, async () => {
  const echo = await echoServer();
  const port = (echo.address() as net.AddressInfo).port;
  const file = path.join(dir, 'tcp.json');
  fs.writeFileSync(file, JSON.stringify([{ Service: { Name: 'raw', ProxyMode: 'tcp', Ports: [{ Port: port, ServicePort: port }] }, Check: { Type: 'TCP', Args: `127.0.0.1:${port}` } }]));
  const a = await startCatalogNode(f, 't', [], ['--static-config-file', file, '--service-listeners', HOST]);
  await a.o.output(new RegExp(`service port ${HOST.replace(/\./g, '\\.')}:${port}: raw \\(tcp\\)`), 20_000);
  await waitFor(async () => (await roundTrip(port, 'ping\n').catch(() => '')) === 'ping\n', 20_000, 'the echo through the relay');
  const big = 'x'.repeat(1 << 20);
  assert.equal((await roundTrip(port, big)).length, big.length, '1 MiB both ways');

  fs.writeFileSync(file, '[]');
  await a.o.output(new RegExp(`service port ${HOST.replace(/\./g, '\\.')}:${port} \\(raw\\) closed`), 30_000);
  await assert.rejects(roundTrip(port, 'ping\n'), /ECONNREFUSED/);
});

test('--service-listeners without the catalog, or with a bad address, exits naming the problem', async () => {
  const alone = await runCli(['--service-listeners', HOST, 'http://127.0.0.1:9']);
  assert.notEqual(alone.code, 0);
  assert.match(alone.stderr, /--service-listeners needs the service catalog/);
  const bad = await runCli(['--service-listeners', 'nowhere', 'sidecar://echo']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--service-listeners.*"nowhere" is not an IP address/);
});
