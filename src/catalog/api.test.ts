import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Catalog } from './catalog.js';
import { serveCatalogApi, type CatalogApi } from './api.js';
import { Status } from './types.js';
import type { LocalService } from './state.js';

const svc = (id: string, name = 'web', status: LocalService['Status'] = Status.ALIVE): LocalService => ({
  ID: id, Name: name, Image: `org/${name}:1`, Created: '2026-11-29T09:00:00Z',
  Ports: [{ Type: 'tcp', Port: 31000, ServicePort: 8080, IP: '127.0.0.1' }], ProxyMode: 'http', Status: status,
});

const catalog = new Catalog('node-a', { clusterName: 'test' });
const drained: string[] = [];
const api: CatalogApi = await serveCatalogApi(catalog, { host: '127.0.0.1', port: 0 }, {
  drain: (id) => {
    if (catalog.state.get('node-a', id) === undefined) return false;
    drained.push(id);
    catalog.setLocal({ ...svc(id), Status: Status.DRAINING });
    return true;
  },
});
after(() => api.close());

async function call(path: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; json: Record<string, unknown>; type: string }> {
  const r = await fetch(`http://127.0.0.1:${api.port}${path}`, init);
  return { status: r.status, json: await r.json() as Record<string, unknown>, type: r.headers.get('content-type') ?? '' };
}

/** Reads a streaming response line by line; `next()` resolves with the next complete line. */
function stream(path: string, headers: Record<string, string> = {}): Promise<{ next: () => Promise<string>; close: () => void; type: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: api.port, path, headers }, (res) => {
      let buffered = '';
      const lines: string[] = [];
      const waiting: ((l: string) => void)[] = [];
      res.setEncoding('utf8').on('data', (s: string) => {
        buffered += s;
        for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
          const line = buffered.slice(0, i);
          buffered = buffered.slice(i + 1);
          if (line === '') continue;
          const w = waiting.shift();
          if (w !== undefined) w(line); else lines.push(line);
        }
      });
      resolve({
        next: () => new Promise((r) => { const l = lines.shift(); if (l !== undefined) r(l); else waiting.push(r); }),
        close: () => req.destroy(),
        type: String(res.headers['content-type']),
      });
    });
    req.once('error', reject);
  });
}

describe('the catalog API', () => {
  it('serves /api/services.json in Sidecar\'s shape, and one service by name with a JSON 404 for unknown names', async () => {
    catalog.setLocal(svc('w1'));
    const all = await call('/api/services.json');
    assert.equal(all.status, 200);
    assert.match(all.type, /^application\/json/);
    assert.deepEqual(Object.keys(all.json), ['Services', 'ClusterMembers', 'ClusterName']);
    const web = (all.json['Services'] as Record<string, { ID: string; Status: number; Hostname: string }[]>)['web']!;
    assert.deepEqual(web.map((s) => [s.ID, s.Status, s.Hostname]), [['w1', 0, 'node-a']]);
    assert.deepEqual((all.json['ClusterMembers'] as Record<string, { ServiceCount: number }>)['node-a']?.ServiceCount, 1);
    const one = await call('/api/services/web.json');
    assert.deepEqual(Object.keys(one.json), ['Services', 'ClusterName']);
    const missing = await call('/api/services/nope.json');
    assert.deepEqual([missing.status, missing.json], [404, { status: 'error', message: 'no instances of nope found' }]);
    const state = await call('/api/state.json');
    assert.deepEqual(Object.keys(state.json), ['Servers', 'LastChanged', 'ClusterName', 'Hostname']);
    assert.equal((await call('/api/services.json', { method: 'DELETE' })).status, 405);
  });

  it('/api/watch sends one newline-delimited document now and one per change', async () => {
    const s = await stream('/api/watch');
    assert.match(s.type, /^application\/x-ndjson/);
    const first = JSON.parse(await s.next()) as Record<string, unknown>;
    assert.ok('web' in first);
    catalog.setLocal(svc('api1', 'api'));
    const second = JSON.parse(await s.next()) as Record<string, { ID: string }[]>;
    assert.equal(second['api']?.[0]?.ID, 'api1');
    catalog.removeLocal('api1');
    const third = JSON.parse(await s.next()) as Record<string, { Status: number }[]>;
    assert.equal(third['api']?.[0]?.Status, Status.TOMBSTONE);
    s.close();
  });

  it('/api/watch speaks Server-Sent Events when asked, and the state document with by_service=false', async () => {
    const s = await stream('/api/watch?by_service=false', { Accept: 'text/event-stream' });
    assert.match(s.type, /^text\/event-stream/);
    const line = await s.next();
    assert.match(line, /^data: \{"Servers":/);
    catalog.setLocal(svc('w2'));
    assert.match(await s.next(), /"w2"/);
    s.close();
  });

  it('POST /api/services/<id>/drain answers 202 and drains a local instance; 404 for an unknown one', async () => {
    const r = await call('/api/services/w1/drain', { method: 'POST' });
    assert.equal(r.status, 202);
    assert.deepEqual(drained, ['w1']);
    assert.equal(catalog.state.get('node-a', 'w1')?.Status, Status.DRAINING);
    assert.equal((await call('/api/services/zzz/drain', { method: 'POST' })).status, 404);
    assert.equal((await call('/api/services/w1/drain')).status, 405);
  });
});

describe('the dashboard beside the API', () => {
  it('serves /ui/ (plain HTML, its script and style) and sends / and /ui there', async () => {
    const page = await fetch(`http://127.0.0.1:${api.port}/ui/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /<script src="dashboard\.js"><\/script>/);
    for (const [file, type] of [['dashboard.js', /^text\/javascript/], ['dashboard.css', /^text\/css/]] as const) {
      const r = await fetch(`http://127.0.0.1:${api.port}/ui/${file}`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', type);
      assert.ok((await r.text()).length > 100);
    }
    for (const path of ['/', '/ui']) {
      const r = await fetch(`http://127.0.0.1:${api.port}${path}`, { redirect: 'manual' });
      assert.deepEqual([r.status, r.headers.get('location')], [302, '/ui/']);
    }
    assert.equal((await call('/ui/nothing.js')).status, 404);
    assert.equal((await call('/v1/members')).status, 404, 'no members without gossip: not served here');
  });
});
