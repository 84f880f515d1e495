import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Catalog } from './catalog.js';
import type { CatalogMember } from './membership.js';
import { Status } from './types.js';
import type { LocalService } from './state.js';

const member = (name: string): CatalogMember => ({ name, addr: '127.0.0.1', meta: new Uint8Array(0) });
const svc = (id: string, name = 'web'): LocalService => ({
  ID: id, Name: name, Image: `org/${name}:1`, Created: '2026-11-29T09:00:00Z',
  Ports: [{ Type: 'tcp', Port: 31000, ServicePort: 8080, IP: '10.0.0.1' }], ProxyMode: 'http', Status: Status.ALIVE,
});

/** Gossip between catalogs the way memberlist delivers it: every broadcast to every other node, until nothing is left. */
function gossip(nodes: Catalog[]): void {
  for (let round = 0; round < 50; round++) {
    let sent = 0;
    for (const from of nodes) {
      for (const msg of from.getBroadcasts(3, 1400)) {
        sent++;
        for (const to of nodes) if (to !== from) to.notifyMsg(msg);
      }
    }
    if (sent === 0) return;
  }
  assert.fail('broadcasts never ran out');
}

describe('Catalog as a memberlist delegate', () => {
  it('spreads records by user messages and by push/pull, in Sidecar\'s state.json shape', () => {
    const a = new Catalog('a', { clusterName: 'c1' });
    const b = new Catalog('b', { clusterName: 'c1' });
    const c = new Catalog('c', { clusterName: 'c1' });
    for (const x of [a, b, c]) for (const y of ['a', 'b', 'c']) x.notifyJoin(member(y));
    a.setLocal(svc('a1'));
    b.setLocal(svc('b1', 'api'));
    gossip([a, b, c]);
    for (const x of [a, b, c]) assert.deepEqual(Object.keys(x.servicesByName()).sort(), ['api', 'web']);
    // A node that missed the gossip catches up from one push/pull.
    const late = new Catalog('d', { clusterName: 'c1' });
    late.mergeRemoteState(a.localState(false), true);
    assert.equal(late.servicesByName()['api']?.[0]?.Hostname, 'b');
    const doc = JSON.parse(new TextDecoder().decode(a.localState(false))) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc), ['Servers', 'LastChanged', 'ClusterName', 'Hostname']);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(a.nodeMeta(512))), { ClusterName: 'c1', State: 'Running' });
  });

  it('tombstones every service of a member that leaves, and tells the others', () => {
    const a = new Catalog('a');
    const b = new Catalog('b');
    const c = new Catalog('c');
    for (const x of [a, b, c]) for (const y of ['a', 'b', 'c']) x.notifyJoin(member(y));
    c.setLocal(svc('c1'));
    c.setLocal(svc('c2'));
    gossip([a, b, c]);
    a.notifyLeave(member('c'));
    assert.deepEqual(a.servicesByName()['web']?.map((s) => s.Status), [Status.TOMBSTONE, Status.TOMBSTONE]);
    gossip([a, b]);
    assert.deepEqual(b.servicesByName()['web']?.map((s) => [s.Status, s.TombstonedBy]), [[Status.TOMBSTONE, 'a'], [Status.TOMBSTONE, 'a']]);
    assert.equal(a.clusterMembers()['c']?.ServiceCount, 0);
  });

  it('drops hostile or foreign input without throwing', () => {
    const a = new Catalog('a', { clusterName: 'c1' });
    for (const junk of ['', '{', 'null', '[]', '{"ID":1}', JSON.stringify({ ...svc('x'), Hostname: 'z', Status: 9, Version: { epoch: 1, seq: 1 } })]) {
      a.notifyMsg(new TextEncoder().encode(junk));
      a.mergeRemoteState(new TextEncoder().encode(junk), false);
    }
    const foreign = new Catalog('b', { clusterName: 'other' });
    foreign.setLocal(svc('b1'));
    a.mergeRemoteState(foreign.localState(false), false);
    assert.deepEqual(a.servicesByName(), {});
  });

  it('reports every change to subscribers with the previous status', () => {
    const a = new Catalog('a');
    const seen: [string, number | null, number][] = [];
    const stop = a.subscribe((c) => seen.push([c.service.ID, c.previousStatus, c.service.Status]));
    a.setLocal(svc('a1'));
    a.setLocal({ ...svc('a1'), Status: Status.UNHEALTHY });
    a.removeLocal('a1');
    stop();
    a.setLocal(svc('a2'));
    assert.deepEqual(seen, [['a1', null, Status.ALIVE], ['a1', Status.ALIVE, Status.UNHEALTHY], ['a1', Status.UNHEALTHY, Status.TOMBSTONE]]);
  });
});
