/**
 * Backends given by DNS name, against a DNS server the test controls (--dns-server): re-resolution
 * every --dns-ttl moves traffic, a failing server keeps the last good answer, and --rr-dns-mode
 * turns one name into one backend per address that follows the answer.
 * Backends listen on 127.0.0.1 and 127.0.0.2 (both loopback on Linux) with the same port.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { TestBackend } from './support/backends.js';
import { TestDnsServer } from './support/dns-server.js';
import { Outrigger, startOutrigger } from './support/outrigger.js';
import { issueCertificate } from '../src/tls/x509.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { closeSession } from './support/h2-session.js';

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => { await Promise.all(cleanup.map((f) => f())); });

let dns: TestDnsServer;
before(async () => {
  dns = await TestDnsServer.start();
  cleanup.push(() => dns.close());
});

/** Backend A on 127.0.0.1 and backend B on 127.0.0.2, on one port. Both record the Host they got. */
async function pair(): Promise<{ a: TestBackend; b: TestBackend; port: number; hosts: string[] }> {
  const hosts: string[] = [];
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, backend: TestBackend): void => {
    hosts.push(String(req.headers.host));
    req.resume();
    req.once('end', () => res.writeHead(200, { 'X-Backend': backend.name }).end(backend.name));
  };
  for (let tries = 0; tries < 20; tries++) {
    const a = await new TestBackend('A', handler).listen();
    const b = new TestBackend('B', handler);
    try {
      await listenOn(b, '127.0.0.2', a.port);
      cleanup.push(() => a.close(), () => b.close());
      return { a, b, port: a.port, hosts };
    } catch {
      await a.close();
    }
  }
  throw new Error('no port free on both 127.0.0.1 and 127.0.0.2');
}

function listenOn(backend: TestBackend, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    backend.server.once('error', reject);
    backend.server.listen(port, host, () => {
      backend.server.off('error', reject);
      backend.port = (backend.server.address() as AddressInfo).port;
      resolve();
    });
  });
}

async function start(args: string[]): Promise<Outrigger> {
  const o = await startOutrigger(['--dns-server', dns.address, '--dns-ttl', '200ms', '--health-path', '/health', '--health-duration', '100ms', '--log', ...args]);
  cleanup.push(() => o.stop());
  return o;
}

async function whoAnswers(o: Outrigger): Promise<string> {
  const r = await request(`${o.base}/x`);
  return r.status === 200 ? String(r.headers['x-backend']) : `status ${r.status}`;
}

/** Poll until `n` requests in a row are answered by `name` (pooled connections to the old address included). */
async function untilAllFrom(o: Outrigger, name: string, n: number, what: string, who: () => Promise<string> = () => whoAnswers(o)): Promise<void> {
  await waitFor(async () => {
    for (let i = 0; i < n; i++) if ((await who()) !== name) return false;
    return true;
  }, 5_000, what);
}

test('a re-resolved name moves traffic to the new address; the Host header is the client\'s', async () => {
  const { a, b, port, hosts } = await pair();
  dns.set('move.test', ['127.0.0.1']);
  const o = await start([`http://move.test:${port}`]);
  assert.equal(await whoAnswers(o), 'A');
  assert.equal(hosts.at(-1), `127.0.0.1:${o.port}`);
  for (let i = 0; i < 5; i++) assert.equal(await whoAnswers(o), 'A');

  dns.set('move.test', ['127.0.0.2']);
  await untilAllFrom(o, 'B', 10, 'traffic to move to B');
  const hitsOnA = a.hits;
  for (let i = 0; i < 10; i++) assert.equal(await whoAnswers(o), 'B');
  assert.equal(a.hits, hitsOnA, 'no pooled connection to the old address is reused');
  assert.ok(b.hits >= 20);
  // Logged before the switch, but read from the child's pipe on its own schedule: wait for it.
  await o.output(/dns: move\.test now resolves to 127\.0\.0\.2 \(was 127\.0\.0\.1\)/);
  assert.doesNotMatch(o.stdout, /is down/);
});

test('HTTP/2 clients (Exchange and the backend http.Agent) move to the new address too', async () => {
  const { a, port } = await pair();
  dns.set('move-h2.test', ['127.0.0.1']);
  const o = new Outrigger(['--dns-server', dns.address, '--dns-ttl', '200ms', '--health-path', '/health', '--log',
    '--auto-tls-host', '127.0.0.1', `http://move-h2.test:${port}`]);
  cleanup.push(() => o.stop());
  await waitFor(() => /listening on https:\/\/\S+:(\d+)/.test(o.stdout) || o.proc.exitCode !== null, 10_000, 'outrigger to listen');
  o.port = Number(/listening on https:\/\/\S+:(\d+)/.exec(o.stdout)?.[1]);
  const session = http2.connect(`https://127.0.0.1:${o.port}`, { rejectUnauthorized: false });
  cleanup.push(() => closeSession(session));
  const who = (): Promise<string> => new Promise((resolve, reject) => {
    const req = session.request({ ':path': '/x' });
    req.once('response', (headers) => resolve(String(headers['x-backend'])));
    req.once('error', reject);
    req.resume();
    req.end();
  });
  await untilAllFrom(o, 'A', 5, 'traffic on A', who);
  dns.set('move-h2.test', ['127.0.0.2']);
  await untilAllFrom(o, 'B', 10, 'HTTP/2 traffic to move to B', who);
  const hitsOnA = a.hits;
  for (let i = 0; i < 10; i++) assert.equal(await who(), 'B');
  assert.equal(a.hits, hitsOnA);
});

test('https backend by name: connects to the address, verifies and sends SNI for the name (HTTP/1.1 and HTTP/2 clients)', async () => {
  const ca = await issueCertificate({ commonName: 'Outrigger DNS Test CA', ca: true });
  const cert = await issueCertificate({ commonName: 'tls.test', hosts: ['tls.test'], issuer: ca });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-dns-'));
  cleanup.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const caFile = path.join(dir, 'ca.pem');
  fs.writeFileSync(caFile, ca.cert);
  const sni: string[] = [];
  const backend = https.createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    sni.push(String((req.socket as import('node:tls').TLSSocket).servername));
    req.resume();
    res.writeHead(200, { 'X-Backend': 'tls' }).end('tls');
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.2', resolve));
  cleanup.push(() => new Promise((resolve) => { backend.closeAllConnections(); backend.close(resolve); }));
  const port = (backend.address() as AddressInfo).port;
  dns.set('tls.test', ['127.0.0.2']);

  const o = new Outrigger(['--dns-server', dns.address, '--health-path', '/health', '--log', '--cacert', caFile,
    '--auto-tls-host', '127.0.0.1', `https://tls.test:${port}`]);
  cleanup.push(() => o.stop());
  await waitFor(() => /listening on https:\/\/\S+:(\d+)/.test(o.stdout) || o.proc.exitCode !== null, 10_000, 'outrigger to listen');
  o.port = Number(/listening on https:\/\/\S+:(\d+)/.exec(o.stdout)?.[1]);
  await o.output(/https:\/\/tls\.test:\d+ is up/);

  // HTTP/1.1 over TLS: the raw engine's pool.
  const h1 = await new Promise<string>((resolve, reject) => {
    https.get(`https://127.0.0.1:${o.port}/x`, { rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(String(res.headers['x-backend'])));
    }).once('error', reject);
  });
  assert.equal(h1, 'tls');
  // HTTP/2: the node:http2 front and the backend's https.Agent.
  const session = http2.connect(`https://127.0.0.1:${o.port}`, { rejectUnauthorized: false });
  cleanup.push(() => closeSession(session));
  const h2 = await new Promise<string>((resolve, reject) => {
    const req = session.request({ ':path': '/y' });
    req.once('response', (headers) => resolve(String(headers['x-backend'])));
    req.once('error', reject);
    req.resume();
    req.end();
  });
  assert.equal(h2, 'tls');
  assert.ok(sni.length >= 3, `probe and two requests (${sni.length})`);
  assert.deepEqual(new Set(sni), new Set(['tls.test']));
});

test('a DNS server that fails keeps the last good answer, said once', async () => {
  const { port } = await pair();
  const name = 'flaky.test';
  dns.set(name, ['127.0.0.2']);
  const o = await start([`http://${name}:${port}`]);
  assert.equal(await whoAnswers(o), 'B');
  dns.servfail.add(name);
  const asked = dns.queries.get(name) ?? 0;
  // Several refresh rounds fail (each asks A and AAAA, with retries).
  await waitFor(() => (dns.queries.get(name) ?? 0) >= asked + 8, 20_000, 'failed refreshes');
  for (let i = 0; i < 5; i++) assert.equal(await whoAnswers(o), 'B');
  const failures = o.stdout.match(/dns: flaky\.test did not resolve \(.*ESERVFAIL.*\); keeping 127\.0\.0\.2/g) ?? [];
  assert.equal(failures.length, 1, o.stdout);
  dns.servfail.delete(name);
  await o.output(/dns: flaky\.test resolves again/);
  assert.doesNotMatch(o.stdout, /is down/);
});

test('a name that does not resolve at start leaves its backend down with the reason, until it does', async () => {
  const { port } = await pair();
  const o = await start([`http://late.test:${port}`]);
  await o.output(/http:\/\/late\.test:\d+ is down: ENOTFOUND: late\.test did not resolve: queryA ENOTFOUND late\.test/);
  await o.output(/dns: late\.test did not resolve \(queryA ENOTFOUND late\.test\); its backends stay down until it does/);
  assert.equal((await request(`${o.base}/v1/health`)).status, 502);
  dns.set('late.test', ['127.0.0.1']);
  await o.output(/http:\/\/late\.test:\d+ is up/);
  assert.equal(await whoAnswers(o), 'A');
});

test('--rr-dns-mode: one backend per address, following the answer; the survivor keeps its state and counters', async () => {
  const { a, b, port } = await pair();
  dns.set('rr.test', ['127.0.0.1', '127.0.0.2']);
  const o = await start(['--rr-dns-mode', '--host-balance', 'round-robin', `http://rr.test:${port}`]);
  const urlA = `http://127.0.0.1:${port}`;
  const urlB = `http://127.0.0.2:${port}`;
  await o.output(new RegExp(`${urlA} is up`));
  await o.output(new RegExp(`${urlB} is up`));
  for (let i = 0; i < 20; i++) assert.equal((await request(`${o.base}/x`)).status, 200);
  assert.ok(a.hits >= 5 && b.hits >= 5, `both get traffic (A ${a.hits}, B ${b.hits})`);
  const before = await request(`${o.base}/.prometheus/metrics`);
  const requestsOnB = Number(new RegExp(`sidekick_requests_total\\{endpoint="${urlB}"\\} (\\d+)`).exec(before.text)?.[1]);
  assert.ok(requestsOnB >= 5, before.text);

  dns.set('rr.test', ['127.0.0.2']);
  await untilAllFrom(o, 'B', 10, 'all traffic on B');
  const hitsOnA = a.hits;
  for (let i = 0; i < 10; i++) assert.equal(await whoAnswers(o), 'B');
  assert.equal(a.hits, hitsOnA);

  const metrics = (await request(`${o.base}/.prometheus/metrics`)).text;
  assert.doesNotMatch(metrics, new RegExp(`endpoint="${urlA}"`));
  const requestsNow = Number(new RegExp(`sidekick_requests_total\\{endpoint="${urlB}"\\} (\\d+)`).exec(metrics)?.[1]);
  assert.ok(requestsNow >= requestsOnB + 20, `B's counters were kept (${requestsOnB} -> ${requestsNow})`);
  // One "is up" for B (the first probe) and nothing else: it never went through down/up again.
  assert.equal(o.stdout.split('\n').filter((l) => l.includes(`${urlB} is`)).length, 1, o.stdout);
  assert.doesNotMatch(o.stdout, /is down/);
  await o.output(/dns: rr\.test now resolves to 127\.0\.0\.2 \(was 127\.0\.0\.1, 127\.0\.0\.2\)/);
});

// Issue 13.1, from the report: the record switched to a new address (TTL 0), the old address
// killed: 502 on every request for 9m56s with the default --dns-ttl; SIGHUP did not help.
async function movedName(name: string, extra: string[]): Promise<{ o: Outrigger; a: TestBackend; b: TestBackend }> {
  const { a, b, port } = await pair();
  dns.set(name, ['127.0.0.1']);
  const o = await startOutrigger(['--dns-server', dns.address, '--health-path', '/health', '--health-duration', '30s', '--log', ...extra, `http://${name}:${port}`]);
  cleanup.push(() => o.stop());
  assert.equal(await whoAnswers(o), 'A');
  return { o, a, b };
}

test('with the default --dns-ttl, a record TTL of 0 is honoured: a moved name is followed within seconds', async () => {
  const { o, a } = await movedName('ttl0.test', []);
  dns.set('ttl0.test', ['127.0.0.2']);
  await untilAllFrom(o, 'B', 5, 'traffic to follow the name to B');
  assert.ok(a.hits >= 1);
});

test('a long record TTL: the name is looked up again as soon as its old address fails', async () => {
  dns.ttl = 3600;
  try {
    const { o, a } = await movedName('moved.test', []);
    dns.set('moved.test', ['127.0.0.2']);
    await a.kill();
    await untilAllFrom(o, 'B', 5, 'traffic to follow the name to B after A died');
    await o.output(/dns: moved\.test now resolves to 127\.0\.0\.2 \(was 127\.0\.0\.1\)/);
  } finally {
    dns.ttl = 0;
  }
});

test('SIGHUP looks every name up again', async () => {
  dns.ttl = 3600;
  try {
    const { o } = await movedName('hup.test', []);
    dns.set('hup.test', ['127.0.0.2']);
    for (let i = 0; i < 5; i++) assert.equal(await whoAnswers(o), 'A', 'A is alive and the TTL is long: no reason to look again');
    o.signal('SIGHUP');
    await o.output(/reloaded: 0 backends added, 0 removed/);
    await untilAllFrom(o, 'B', 5, 'traffic on B after SIGHUP');
  } finally {
    dns.ttl = 0;
  }
});

// Issue 13.2, from the report: sidekick's first example, one name with several addresses, one dead:
// 0 of 40 sequential curls succeeded.
test('one name with two addresses, one dead: every request is served, without --rr-dns-mode', async () => {
  const { a, port } = await pair();
  await a.kill();
  dns.set('two.test', ['127.0.0.1', '127.0.0.2']);
  const o = await start([`http://two.test:${port}`]);
  const answers: string[] = [];
  for (let i = 0; i < 40; i++) answers.push(await whoAnswers(o));
  assert.deepEqual(answers.filter((x) => x !== 'B'), []);
  await o.output(new RegExp(`http://127\\.0\\.0\\.1:${port} is down`));
});
