// Docker discovery following the Engine API's event stream, and finding the engine as the docker
// CLI does (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), end to end through real Outrigger
// processes. The Engine API is a stand-in (test/support/docker-engine.ts, the only mock allowed in
// this project: no Docker engine can run on these machines); it streams GET /events as dockerd
// does, as chunked JSON lines. The list interval (--service-check-interval) is set to 10 minutes
// where a test shows an event at work, so only the event can explain a change within the deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Fixtures } from './support/fixtures.js';
import { runCli, startOutrigger, type Outrigger } from './support/outrigger.js';
import { waitFor } from './support/wait.js';
import { catalogNodeOf, servicesOf, STATUS, type CatalogNode } from './support/catalog-nodes.js';
import { containerEvent, startStandInEngine, type FakeContainer, type StandInEngine } from './support/docker-engine.js';
import { issueCertificate } from '../src/tls/x509.js';

const fx = new Fixtures();
const LONG_INTERVAL = '600s';
/** Well below the list interval: what a change by event must take at most, even on a loaded machine. */
const EVENT_DEADLINE_MS = 15_000;

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-docker-'));
  fx.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function container(id: string, name: string, port: number): FakeContainer {
  return { Id: id.padEnd(64, '0'), Image: `org/${name}:1`, Created: 1_795_000_000, Labels: { ServiceName: name },
    Ports: [{ PrivatePort: 80, PublicPort: port, Type: 'tcp' }] };
}

async function start(name: string, args: string[], env: Record<string, string> = {}): Promise<{ o: Outrigger; node: CatalogNode }> {
  const o = await startOutrigger(['--api-address', '127.0.0.1:0', '--node-name', name, '--log', ...args, 'sidecar://web'], env);
  fx.track(o);
  return { o, node: await catalogNodeOf(name, o) };
}

async function statusOf(node: CatalogNode, name: string): Promise<number | undefined> {
  return (await servicesOf(node)).Services[name]?.[0]?.Status;
}

async function listed(node: CatalogNode, name: string): Promise<void> {
  await waitFor(async () => { const s = await statusOf(node, name); return s !== undefined && s !== STATUS.TOMBSTONE; }, EVENT_DEADLINE_MS, `${name} announced`);
}

async function tombstoned(node: CatalogNode, name: string): Promise<void> {
  await waitFor(async () => (await statusOf(node, name)) === STATUS.TOMBSTONE, EVENT_DEADLINE_MS, `${name} TOMBSTONE by its event`);
}

/** Stops `c` on the engine as dockerd does: gone from the list, then its die and stop events. */
function stopContainer(engine: StandInEngine, c: FakeContainer): void {
  engine.containers = engine.containers.filter((x) => x !== c);
  engine.emit(containerEvent('die', c));
  engine.emit(containerEvent('stop', c));
}

test('a container that stops is tombstoned on its event, a started one announced, long before the next list', { timeout: 90_000 }, async () => {
  const socket = path.join(tempDir(), 'docker.sock');
  const engine = await startStandInEngine(fx, { socket });
  const [a, b] = await Promise.all([fx.backendOf('a'), fx.backendOf('b')]);
  const web = container('aaaa00000001', 'web', a.port);
  engine.containers = [web];
  const { node } = await start('e0', ['--docker-socket', socket, '--service-check-interval', LONG_INTERVAL]);
  await listed(node, 'web');
  await waitFor(() => engine.streams.size === 1, EVENT_DEADLINE_MS, 'the event stream open');
  const q = engine.eventQueries[0]!;
  assert.deepEqual(JSON.parse(q.get('filters')!), { type: ['container'], event: ['start', 'die', 'stop', 'destroy'] }, 'only container start/die/stop/destroy events asked for');

  const listsBefore = engine.lists;
  stopContainer(engine, web);
  await tombstoned(node, 'web');

  const api = container('bbbb00000002', 'api', b.port);
  engine.containers = [api];
  engine.emit(containerEvent('start', api));
  await listed(node, 'api');
  assert.ok(engine.lists > listsBefore, 'the start event made Outrigger list the containers');
  assert.equal(await statusOf(node, 'web'), STATUS.TOMBSTONE, 'the stopped container stays gone');
});

test('the event stream, cut as when the engine restarts, is reconnected; a malformed line is logged and skipped', { timeout: 90_000 }, async () => {
  const socket = path.join(tempDir(), 'docker.sock');
  const engine = await startStandInEngine(fx, { socket });
  const [a, b] = await Promise.all([fx.backendOf('a'), fx.backendOf('b')]);
  const one = container('cccc00000003', 'one', a.port);
  const two = container('dddd00000004', 'two', b.port);
  engine.containers = [one, two];
  const { o, node } = await start('e1', ['--docker-socket', `unix://${socket}`, '--service-check-interval', LONG_INTERVAL]);
  await Promise.all([listed(node, 'one'), listed(node, 'two')]);
  await waitFor(() => engine.streams.size === 1, EVENT_DEADLINE_MS, 'the event stream open');

  engine.cut();
  await o.output(/docker events: the event stream broke off; reconnecting/);
  await waitFor(() => engine.eventQueries.length >= 2 && engine.streams.size === 1, EVENT_DEADLINE_MS, 'the event stream opened again');
  await o.output(/docker events: following unix:\/\/\S+docker\.sock again/);

  engine.emit('this is {not an event');
  await o.output(/docker events: malformed event line skipped: this is \{not an event/);
  stopContainer(engine, one);
  await tombstoned(node, 'one');
  assert.notEqual(await statusOf(node, 'two'), STATUS.TOMBSTONE, 'the other container stays');
});

test('DOCKER_HOST=tcp://… is followed with --docker, and over TLS with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH', { timeout: 90_000 }, async () => {
  const [a, b] = await Promise.all([fx.backendOf('a'), fx.backendOf('b')]);
  const plain = await startStandInEngine(fx, { tcp: true });
  const web = container('eeee00000005', 'web', a.port);
  plain.containers = [web];
  const { node } = await start('e2', ['--docker', '--service-check-interval', LONG_INTERVAL], { DOCKER_HOST: `tcp://127.0.0.1:${plain.port}` });
  await listed(node, 'web');
  await waitFor(() => plain.streams.size === 1, EVENT_DEADLINE_MS, 'the event stream open over TCP');
  stopContainer(plain, web);
  await tombstoned(node, 'web');

  // dockerd --tlsverify: the engine's certificate is checked against ca.pem, and it checks ours.
  const ca = await issueCertificate({ commonName: 'Docker Test CA', ca: true });
  const [server, client] = await Promise.all([
    issueCertificate({ commonName: 'engine', hosts: ['127.0.0.1'], issuer: ca }),
    issueCertificate({ commonName: 'outrigger', usage: 'client', issuer: ca }),
  ]);
  const certs = tempDir();
  fs.writeFileSync(path.join(certs, 'ca.pem'), ca.cert);
  fs.writeFileSync(path.join(certs, 'cert.pem'), client.cert);
  fs.writeFileSync(path.join(certs, 'key.pem'), client.key);
  const secure = await startStandInEngine(fx, { tcp: true, tls: { cert: server.cert, key: server.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true } });
  const api = container('ffff00000006', 'api', b.port);
  secure.containers = [api];
  const tls = await start('e3', ['--docker', '--service-check-interval', LONG_INTERVAL],
    { DOCKER_HOST: `tcp://127.0.0.1:${secure.port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs });
  await listed(tls.node, 'api');
  await waitFor(() => secure.streams.size === 1, EVENT_DEADLINE_MS, 'the event stream open over TLS');
  stopContainer(secure, api);
  await tombstoned(tls.node, 'api');
});

test('a bad DOCKER_HOST, --docker-socket or DOCKER_CERT_PATH stops the start, naming it', async () => {
  const bad = await runCli(['--docker', 'sidecar://web'], { DOCKER_HOST: 'ssh://me@engine' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /DOCKER_HOST: "ssh:\/\/me@engine": use unix:\/\/\/path or tcp:\/\/host:port/);
  const noPort = await runCli(['--docker-socket', 'tcp://127.0.0.1', 'sidecar://web']);
  assert.equal(noPort.code, 2);
  assert.match(noPort.stderr, /--docker-socket.*"tcp:\/\/127\.0\.0\.1" is not tcp:\/\/host:port \(the port is needed/);
  const dir = tempDir();
  const noCerts = await runCli(['--docker-socket', 'tcp://127.0.0.1:2376', 'sidecar://web'], { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir });
  assert.equal(noCerts.code, 2);
  assert.ok(noCerts.stderr.includes(`DOCKER_TLS_VERIFY is set but DOCKER_CERT_PATH ${dir} has no ca.pem`), noCerts.stderr);
});
