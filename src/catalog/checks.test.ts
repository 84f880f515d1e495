import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { expandTemplates, runCheck } from './checks.js';

const servers: (http.Server | net.Server)[] = [];
after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

function listen<S extends http.Server | net.Server>(server: S): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** A port nothing listens on: bound by the kernel, then closed. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
  await new Promise((r) => s.close(r));
  return port;
}

describe('service checks', () => {
  it('expands Sidecar\'s templates: {{ host }}, {{ tcp N }} by service port then by port', () => {
    const ports = [{ Type: 'tcp' as const, Port: 31000, ServicePort: 8080, IP: '10.0.0.1' }, { Type: 'udp' as const, Port: 31001, ServicePort: 53, IP: '10.0.0.1' }];
    assert.equal(expandTemplates('http://{{ host }}:{{ tcp 8080 }}/health', '10.0.0.1', ports), 'http://10.0.0.1:31000/health');
    assert.equal(expandTemplates('{{host}}:{{tcp 31000}} {{ udp 53 }}', 'h', ports), 'h:31000 31001');
    assert.equal(expandTemplates('{{ tcp 9 }}', 'h', ports), '{{ tcp 9 }}', 'an unknown port is left as written');
  });

  it('HttpGet: 2xx healthy, another status or a refused connection failed, no answer unknown', async () => {
    let status = 200;
    const port = await listen(http.createServer((_, res) => { res.writeHead(status).end(); }));
    const url = `http://127.0.0.1:${port}/health`;
    assert.equal((await runCheck({ Type: 'HttpGet', Args: url }, url, 5_000)).result, 'healthy');
    status = 503;
    assert.deepEqual(await runCheck({ Type: 'HttpGet', Args: url }, url, 5_000), { result: 'failed', reason: 'status 503' });
    const dead = `http://127.0.0.1:${await closedPort()}/`;
    assert.equal((await runCheck({ Type: 'HttpGet', Args: dead }, dead, 5_000)).result, 'failed', 'nothing listens: the service is down');
    const silent = await listen(net.createServer(() => {}));
    const hung = `http://127.0.0.1:${silent}/`;
    assert.deepEqual(await runCheck({ Type: 'HttpGet', Args: hung }, hung, 200), { result: 'unknown', reason: 'no answer within 200 ms' });
  });

  it('External: a real command; exit 0 healthy, another exit failed, still running at the timeout unknown', async () => {
    const node = process.execPath;
    assert.equal((await runCheck({ Type: 'External', Args: '' }, `${node} -e 0`, 10_000)).result, 'healthy');
    assert.deepEqual(await runCheck({ Type: 'External', Args: '' }, `${node} -e process.exit(3)`, 10_000), { result: 'failed', reason: 'exit 3' });
    assert.equal((await runCheck({ Type: 'External', Args: '' }, `${node} -e setTimeout(()=>{},60000)`, 300)).result, 'unknown');
    assert.equal((await runCheck({ Type: 'External', Args: '' }, '/nonexistent/check', 5_000)).result, 'failed');
  });

  it('TCP: a connection is healthy, a refused one failed; AlwaysSuccessful always is', async () => {
    const port = await listen(net.createServer((s) => s.end()));
    assert.equal((await runCheck({ Type: 'TCP', Args: '' }, `127.0.0.1:${port}`, 5_000)).result, 'healthy');
    assert.equal((await runCheck({ Type: 'TCP', Args: '' }, `127.0.0.1:${await closedPort()}`, 5_000)).result, 'failed');
    assert.equal((await runCheck({ Type: 'TCP', Args: '' }, 'nonsense', 5_000)).result, 'failed');
    assert.equal((await runCheck({ Type: 'AlwaysSuccessful', Args: '' }, '', 5_000)).result, 'healthy');
  });
});
