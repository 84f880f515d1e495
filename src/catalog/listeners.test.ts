import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Catalog } from './catalog.js';
import { UrlListeners } from './listeners.js';
import { Status } from './types.js';

/** A listener endpoint that fails its first `failures` requests (one 503, then resets), recording every body. */
const bodies: string[] = [];
let failures = 0;
const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8').on('data', (s: string) => { body += s; }).on('end', () => {
    bodies.push(body);
    if (failures === 0) return void res.writeHead(200).end();
    failures--;
    if (failures % 2 === 1) res.writeHead(503).end(); else req.socket.destroy();
  });
});
const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
after(() => new Promise((r) => server.close(r)));

describe('URL listeners', () => {
  it('POST every change with the state and the change event; every retry carries the whole body', async () => {
    const catalog = new Catalog('node-a');
    const listeners = new UrlListeners(catalog, [`http://127.0.0.1:${port}/update`], { attempts: 5, timeoutMs: 5_000, backoffMs: 10 });
    listeners.start();
    failures = 3;
    catalog.setLocal({ ID: 'w1', Name: 'web', Image: '', Created: '2026-11-29T09:00:00Z', Ports: [], ProxyMode: 'http', Status: Status.ALIVE });
    catalog.removeLocal('w1');
    await listeners.idle();
    listeners.stop();
    assert.equal(bodies.length, 5, '3 failed attempts and 2 deliveries');
    const docs = bodies.map((b) => JSON.parse(b) as { State: { Hostname: string }; ChangeEvent: { Service: { ID: string; Status: number }; PreviousStatus: number } });
    for (const d of docs) assert.equal(d.State.Hostname, 'node-a', 'no empty retry');
    assert.deepEqual(bodies.slice(0, 4).map((b) => b === bodies[0]), [true, true, true, true], 'the retries resend the same body');
    assert.deepEqual(docs.slice(3).map((d) => [d.ChangeEvent.Service.Status, d.ChangeEvent.PreviousStatus]), [[Status.ALIVE, Status.ALIVE], [Status.TOMBSTONE, Status.ALIVE]]);
  });
});

describe('listeners that local services ask for', () => {
  it('follow(): an added URL gets the changes from then on, a removed one none; the fixed ones stay', async () => {
    const catalog = new Catalog('node-b');
    const fixed = `http://127.0.0.1:${port}/fixed`;
    const listeners = new UrlListeners(catalog, [fixed], { attempts: 1, timeoutMs: 5_000, backoffMs: 10 });
    listeners.start();
    const paths: string[] = [];
    server.on('request', (req: http.IncomingMessage) => paths.push(req.url ?? ''));
    const web = { ID: 'w2', Name: 'web', Image: '', Created: '2026-11-29T09:00:00Z', Ports: [], ProxyMode: 'http' as const, Status: Status.ALIVE };
    listeners.follow([`http://127.0.0.1:${port}/sidecar/update`]);
    catalog.setLocal(web);
    await listeners.idle();
    listeners.follow([]);
    catalog.setLocal({ ...web, Status: Status.UNHEALTHY });
    await listeners.idle();
    listeners.stop();
    assert.deepEqual(paths.sort(), ['/fixed', '/fixed', '/sidecar/update']);
  });
});
