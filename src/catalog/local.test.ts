import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Catalog } from './catalog.js';
import { LocalServices } from './local.js';
import { parseServiceFlag, parseStaticConfig, type LocalSpec } from './local-config.js';
import { Status } from './types.js';

let healthy = true;
const server = http.createServer((_, res) => { res.writeHead(healthy ? 200 : 500).end(); });
const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
after(() => new Promise((r) => server.close(r)));

function specs(text: string): LocalSpec[] {
  const parsed = parseStaticConfig(text, 'node-a', '127.0.0.1');
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.specs;
}

const staticFile = JSON.stringify([
  { Service: { Name: 'web', Image: 'org/web:1', Ports: [{ Type: 'tcp', Port: port, ServicePort: 8080 }], ProxyMode: 'http' },
    Check: { Type: 'HttpGet', Args: 'http://{{ host }}:{{ tcp 8080 }}/health' } },
  { Service: { Name: 'job', Ports: [] }, Check: { Type: 'External', Args: `${process.execPath} -e process.exit(0)` } },
]);

describe('local services', () => {
  it('reads Sidecar\'s static file shape, with IDs stable across restarts, and refuses a bad file naming each problem', () => {
    const [web, job] = specs(staticFile);
    assert.deepEqual([web?.service.Name, web?.service.Ports[0], job?.check.Type], ['web', { Type: 'tcp', Port: port, ServicePort: 8080, IP: '127.0.0.1' }, 'External']);
    assert.equal(specs(staticFile)[0]?.service.ID, web?.service.ID);
    const bad = parseStaticConfig(JSON.stringify([{ Service: {} }, { Service: { Name: 'x', Ports: [{ Port: 70000 }] } }, { Service: { Name: 'y', Ports: [] }, Check: { Type: 'Ping' } }]), 'h', '1.2.3.4');
    assert.deepEqual(bad, { ok: false, errors: [
      'entry 1: needs "Service" with a "Name"', 'entry 2 (x): ports must be 1..65535: {"Port":70000}',
      'entry 3 (y): Check Type must be one of HttpGet, External, TCP, AlwaysSuccessful'] });
    assert.equal(parseStaticConfig('{', 'h', 'i').ok, false);
    const listening = parseStaticConfig(JSON.stringify([{ Service: { Name: 'l', Ports: [] }, ListenPort: 10005 }]), 'h', '10.0.0.7');
    assert.ok(listening.ok);
    assert.equal(listening.specs[0]?.listener, 'http://10.0.0.7:10005/sidecar/update', 'ListenPort subscribes the service to changes');
    assert.deepEqual(parseStaticConfig(JSON.stringify([{ Service: { Name: 'l', Ports: [] }, ListenPort: 'x' }]), 'h', 'i'),
      { ok: false, errors: ['entry 1 (l): ListenPort must be 1..65535, not "x"'] });
    assert.equal(parseServiceFlag('web', 'h').ok, false);
    const flag = parseServiceFlag(`api=http://127.0.0.1:${port}/health`, 'h');
    assert.ok(flag.ok);
    assert.deepEqual(flag.specs[0]?.check, { Type: 'HttpGet', Args: `http://127.0.0.1:${port}/health` });
  });

  it('checks for real with rise/fall: the first result decides, then it takes `fall` failures to go down and `rise` passes to come back', async () => {
    const catalog = new Catalog('node-a');
    const local = new LocalServices(catalog, { intervalMs: 1_000, timeoutMs: 5_000, rise: 2, fall: 3 });
    const [web, job] = specs(staticFile);
    local.set([web!, job!]);
    const status = (): number | undefined => catalog.state.get('node-a', web!.service.ID)?.Status;
    assert.equal(status(), Status.UNKNOWN);
    await local.checkAll();
    assert.equal(status(), Status.ALIVE);
    assert.equal(catalog.state.get('node-a', job!.service.ID)?.Status, Status.ALIVE, 'the External check ran');
    healthy = false;
    await local.checkAll();
    await local.checkAll();
    assert.equal(status(), Status.ALIVE, 'two failures of three');
    await local.checkAll();
    assert.equal(status(), Status.UNHEALTHY);
    healthy = true;
    await local.checkAll();
    assert.equal(status(), Status.UNHEALTHY, 'one pass of two');
    await local.checkAll();
    assert.equal(status(), Status.ALIVE);
  });

  it('keeps a drained instance DRAINING whatever its checks say, and tombstones a service that is no longer configured', async () => {
    const catalog = new Catalog('node-a');
    const local = new LocalServices(catalog, { intervalMs: 1_000, timeoutMs: 5_000, rise: 1, fall: 1 });
    const [web, job] = specs(staticFile);
    local.set([web!, job!]);
    await local.checkAll();
    assert.equal(local.drain(web!.service.ID), true);
    assert.equal(local.drain('unknown'), false);
    await local.checkAll();
    assert.equal(catalog.state.get('node-a', web!.service.ID)?.Status, Status.DRAINING);
    local.set([job!]);
    assert.equal(catalog.state.get('node-a', web!.service.ID)?.Status, Status.TOMBSTONE);
    assert.equal(catalog.state.get('node-a', job!.service.ID)?.Status, Status.ALIVE);
  });
});
