// Docker discovery with Sidecar's labels, end to end through a real Outrigger process.
// The Engine API is a stand-in (test/support/docker-engine.ts, the only mock allowed in this
// project: no Docker engine can run on these machines). Everything else is real: the services it
// lists are real HTTP backends, checked for real, and balanced over by name. The event stream and
// DOCKER_HOST are tested in docker-events.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { catalogNodeOf, servicesOf, STATUS } from './support/catalog-nodes.js';
import { startStandInEngine, type FakeContainer } from './support/docker-engine.js';

const fx = new Fixtures();

test('containers with Sidecar\'s labels become services, are checked, balanced by name, and leave when they stop', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-docker-'));
  fx.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const socket = path.join(dir, 'docker.sock');
  const engine = await startStandInEngine(fx, { socket });
  const [echo, worker, hidden] = await Promise.all([fx.backendOf('echo'), fx.backendOf('worker'), fx.backendOf('hidden')]);
  const created = 1_795_000_000;
  engine.containers = [
    { Id: 'a1b2c3d4e5f6a7b8c9d0', Image: 'org/echo:1.0', Created: created, Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: echo.port, Type: 'tcp' }],
      Labels: { ServiceName: 'echo', ServicePort_80: '8080', HealthCheck: 'HttpGet', HealthCheckArgs: 'http://{{ host }}:{{ tcp 8080 }}/health' } },
    { Id: 'f00dfeedbeef00112233', Image: 'registry:5000/org/worker:1.2', Created: created, Labels: {},
      Ports: [{ PrivatePort: 9000, PublicPort: worker.port, Type: 'tcp' }] },
    { Id: '0123456789ab0123', Image: 'org/hidden', Created: created, Labels: { SidecarDiscover: 'false' },
      Ports: [{ PrivatePort: 80, PublicPort: hidden.port, Type: 'tcp' }] },
    { Id: 'cafecafecafe0000', Image: 'org/unpublished', Created: created, Labels: {}, Ports: [{ PrivatePort: 80, Type: 'tcp' }] },
    { Id: 'badbadbadbad0000', Image: 'org/bad', Created: created, Labels: { ProxyMode: 'udp' },
      Ports: [{ PrivatePort: 80, PublicPort: hidden.port, Type: 'tcp' }] },
  ];
  const o = await fx.outrigger(['--docker-socket', `unix://${socket}`, '--api-address', '127.0.0.1:0', '--node-name', 'd0', '--log',
    '--service-check-interval', '300ms', 'sidecar://echo:8080']);
  const node = await catalogNodeOf('d0', o);

  await waitFor(async () => {
    const s = (await servicesOf(node)).Services;
    return s['echo']?.[0]?.Status === STATUS.ALIVE && s['worker']?.[0]?.Status === STATUS.ALIVE;
  }, 15_000, 'echo and worker ALIVE');
  const services = (await servicesOf(node)).Services;
  assert.deepEqual(Object.keys(services).sort(), ['echo', 'worker'], 'SidecarDiscover=false, unpublished and badly labelled containers are left out');
  const e = services['echo']![0]!;
  assert.equal(e.ID, 'a1b2c3d4e5f6');
  assert.deepEqual(e.Ports, [{ Type: 'tcp', Port: echo.port, ServicePort: 8080, IP: '127.0.0.1' }]);
  assert.equal((e as unknown as { Created: string }).Created, new Date(created * 1000).toISOString());
  assert.ok(echo.healthHits > 0, 'the HealthCheckArgs template reached the echo backend\'s /health');
  await o.output(/docker container badbadbadbad: label ProxyMode=udp: must be http, tcp or ws; not announced/);

  // sidecar://echo:8080 balances over the container's published port.
  await waitFor(async () => (await request(`${o.base}/x`)).status === 200, 10_000, 'a GET through sidecar://echo:8080');
  assert.equal((await request(`${o.base}/x`)).headers['x-backend'], 'echo');

  // A failing check (HttpGet through the label) turns it UNHEALTHY.
  echo.healthy = false;
  await waitFor(async () => (await servicesOf(node)).Services['echo']?.[0]?.Status === STATUS.UNHEALTHY, 10_000, 'echo UNHEALTHY');
  echo.healthy = true;

  // The engine failing keeps the services in use, and says so once.
  engine.failing = true;
  await o.output(/docker .*docker\.sock: GET \/containers\/json answered 500; keeping the services in use/);
  assert.equal((await servicesOf(node)).Services['worker']?.[0]?.Status, STATUS.ALIVE);
  engine.failing = false;

  // The container stops: gone from the list, its service is tombstoned.
  engine.containers = engine.containers.filter((c) => c.Id !== 'f00dfeedbeef00112233');
  await waitFor(async () => (await servicesOf(node)).Services['worker']?.[0]?.Status === STATUS.TOMBSTONE, 10_000, 'worker TOMBSTONE');
  assert.equal((await servicesOf(node)).Services['worker']![0]!.Name, 'worker', 'named after its image without registry and tag');
});

test('--docker-socket refuses an address that is no Engine API address, naming it', async () => {
  const { runCli } = await import('./support/outrigger.js');
  const r = await runCli(['--docker-socket', 'http://127.0.0.1:2375', 'sidecar://echo']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--docker-socket.*"http:\/\/127\.0\.0\.1:2375": use unix:\/\/\/path or tcp:\/\/host:port/);
});

test('a container labelled SidecarListener gets every change POSTed to /sidecar/update while it runs', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-docker-'));
  fx.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const socket = path.join(dir, 'docker.sock');
  const engine = await startStandInEngine(fx, { socket });
  const echo = await fx.backendOf('echo');
  // The subscriber: a real HTTP server recording what reaches /sidecar/update.
  interface Update { State: { Servers: Record<string, { Services: Record<string, { Name: string; Status: number }> }> }; ChangeEvent: { Service: { Name: string; Status: number } } }
  const posts: Update[] = [];
  const updates: Update['ChangeEvent'][] = [];
  const subscriber = await fx.backendOf('subscriber', (req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (s: string) => { body += s; }).on('end', () => {
      if (req.method === 'POST' && req.url === '/sidecar/update') {
        posts.push(JSON.parse(body) as Update);
        updates.push(posts.at(-1)!.ChangeEvent);
      }
      res.writeHead(200).end();
    });
  });
  const created = 1_795_000_000;
  const subscriberContainer: FakeContainer = { Id: '5ub5cr1be75ub5cr1be7', Image: 'org/subscriber', Created: created,
    Labels: { ServicePort_80: '10005', SidecarListener: '10005' }, Ports: [{ PrivatePort: 80, PublicPort: subscriber.port, Type: 'tcp' }] };
  engine.containers = [subscriberContainer];
  const o = await fx.outrigger(['--docker-socket', `unix://${socket}`, '--api-address', '127.0.0.1:0', '--node-name', 'd1', '--log',
    '--service-check-interval', '300ms', '--service', `echo=${echo.url}/health`, 'sidecar://echo']);
  const node = await catalogNodeOf('d1', o);

  // Changes reach the subscriber, its own service's among them, each with the whole state (echo
  // may have turned alive before the subscriber's container was listed).
  const echoAlive = (p: Update): boolean => Object.values(p.State.Servers['d1']?.Services ?? {}).some((x) => x.Name === 'echo' && x.Status === STATUS.ALIVE);
  await waitFor(() => posts.some((p) => p.ChangeEvent.Service.Name === 'subscriber' && p.ChangeEvent.Service.Status === STATUS.ALIVE && echoAlive(p)),
    15_000, 'the subscriber told that it is alive, with echo alive in the state');

  // A bad label is refused, naming it.
  engine.containers = [subscriberContainer, { Id: 'ba5eba5eba5e0000', Image: 'org/bad', Created: created, Labels: { SidecarListener: '7' },
    Ports: [{ PrivatePort: 80, PublicPort: echo.port, Type: 'tcp' }] }];
  await o.output(/docker container ba5eba5eba5e: label SidecarListener=7 names no tcp ServicePort of the container; not announced/);

  // Once its container has stopped, the subscriber gets no new change.
  engine.containers = [];
  await waitFor(async () => (await servicesOf(node)).Services['subscriber']?.[0]?.Status === STATUS.TOMBSTONE, 15_000, 'subscriber TOMBSTONE');
  const seen = updates.length;
  echo.healthy = false;
  await waitFor(async () => (await servicesOf(node)).Services['echo']?.[0]?.Status === STATUS.UNHEALTHY, 10_000, 'echo UNHEALTHY');
  // A POST to a still-subscribed listener would be under way by now; give it the time one delivery takes here.
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(updates.slice(seen).filter((u) => u.Service.Name === 'echo').length, 0, 'no change POSTed after the container stopped');
});
