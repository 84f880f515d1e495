import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CatalogState, LIFESPANS, type LocalService } from './state.js';
import { Status, type Service } from './types.js';

/** A clock the test moves by hand. */
function clock(start = Date.parse('2026-11-29T10:00:00Z')): { now: () => number; advance: (ms: number) => void; set: (t: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; }, set: (v) => { t = v; } };
}

const web = (id = 'a1', status: LocalService['Status'] = Status.ALIVE): LocalService => ({
  ID: id, Name: 'web', Image: 'org/web:1', Created: '2026-11-29T09:00:00Z',
  Ports: [{ Type: 'tcp', Port: 31000, ServicePort: 8080, IP: '10.0.0.1' }], ProxyMode: 'http', Status: status,
});

/** Sidecar's rule (Service.Invalidates): the record with the later `Updated` wins. */
const sidecarKeeps = (current: Service, incoming: Service): Service =>
  (Date.parse(incoming.Updated) > Date.parse(current.Updated) ? incoming : current);

describe('CatalogState merge rules', () => {
  it('orders an owner\'s records by its own version: newer wins, older and equal are ignored', () => {
    const owner = new CatalogState('n1', { now: clock().now });
    const peer = new CatalogState('n2', { now: clock().now });
    const v1 = owner.setLocal(web());
    const v2 = owner.setLocal(web('a1', Status.UNHEALTHY));
    assert.equal(peer.merge(v2), true);
    assert.equal(peer.merge(v1), false, 'an older version arriving late changes nothing');
    assert.equal(peer.merge(v2), false, 'the same version again changes nothing');
    assert.equal(peer.get('n1', 'a1')?.Status, Status.UNHEALTHY);
  });

  it('ignores a copy of an older version even when the owner\'s clock made its Updated later (Sidecar would take it)', () => {
    const c = clock();
    const owner = new CatalogState('n1', { now: c.now });
    const peer = new CatalogState('n2', { now: clock().now });
    const late = owner.setLocal(web('a1', Status.ALIVE));
    c.set(c.now() - 60_000); // the owner's clock is stepped back (NTP), then it marks the instance unhealthy
    const sick = owner.setLocal(web('a1', Status.UNHEALTHY));
    peer.merge(sick);
    peer.merge(late);
    assert.equal(peer.get('n1', 'a1')?.Status, Status.UNHEALTHY, 'the owner\'s latest word stands');
    assert.equal(sidecarKeeps(sick, late).Status, Status.ALIVE, 'Sidecar\'s rule would bring the stale ALIVE back');
  });

  it('never lets a peer overwrite this node\'s own records, not even with a tombstone', () => {
    const me = new CatalogState('n1', { now: clock().now });
    const mine = me.setLocal(web());
    assert.equal(me.merge({ ...mine, Status: Status.TOMBSTONE, TombstonedBy: 'n2', Version: { ...mine.Version, seq: mine.Version.seq + 5 } }), false);
    assert.equal(me.get('n1', 'a1')?.Status, Status.ALIVE);
  });

  it('the owner\'s tombstone is a new version and replaces the live record everywhere', () => {
    const owner = new CatalogState('n1', { now: clock().now });
    const peer = new CatalogState('n2', { now: clock().now });
    peer.merge(owner.setLocal(web()));
    const tomb = owner.removeLocal('a1')!;
    assert.equal(tomb.TombstonedBy, 'n1');
    assert.equal(peer.merge(tomb), true);
    assert.equal(peer.get('n1', 'a1')?.Status, Status.TOMBSTONE);
  });

  it('a dead node\'s services are tombstoned by a peer at the same version; other peers converge; the owner\'s return wins', () => {
    const owner = new CatalogState('n1', { now: clock().now });
    const p2 = new CatalogState('n2', { now: clock().now });
    const p3 = new CatalogState('n3', { now: clock().now });
    const alive = owner.setLocal(web());
    p2.merge(alive);
    p3.merge(alive);
    const [tomb] = p2.expireServer('n1');
    assert.deepEqual([tomb?.Status, tomb?.TombstonedBy, tomb?.Version], [Status.TOMBSTONE, 'n2', alive.Version]);
    assert.equal(p3.merge(tomb!), true, 'at equal versions the tombstone wins, so every peer agrees');
    assert.equal(p3.merge(alive), false, 'and the old ALIVE cannot undo it');
    const back = owner.setLocal(web());
    assert.equal(p2.merge(back), true);
    assert.equal(p2.get('n1', 'a1')?.Status, Status.ALIVE);
  });

  it('a node that comes back is alive again even when the peer that tombstoned it has a clock ahead (Sidecar\'s rule keeps the tombstone)', () => {
    const ownerClock = clock();
    const peerClock = clock(ownerClock.now() + 5 * 60_000); // the peer's clock runs 5 minutes ahead
    const owner = new CatalogState('n1', { now: ownerClock.now });
    const peer = new CatalogState('n2', { now: peerClock.now });
    peer.merge(owner.setLocal(web()));
    const [tomb] = peer.expireServer('n1'); // n1 was unreachable for a while
    ownerClock.advance(60_000);
    const back = owner.setLocal(web()); // a minute later by its own clock, n1 announces again
    assert.equal(peer.merge(back), true);
    assert.equal(peer.get('n1', 'a1')?.Status, Status.ALIVE);
    assert.equal(sidecarKeeps(tomb!, back).Status, Status.TOMBSTONE, 'Sidecar: the observer-stamped tombstone outranks the owner for 4 minutes');
  });

  it('orders a restarted owner\'s records after its previous life\'s, though its sequence starts again', () => {
    const c = clock();
    const firstLife = new CatalogState('n1', { now: c.now });
    const peer = new CatalogState('n2', { now: clock().now });
    for (let i = 0; i < 10; i++) firstLife.setLocal(web());
    peer.merge(firstLife.setLocal(web('a1', Status.UNHEALTHY)));
    c.advance(5_000);
    const secondLife = new CatalogState('n1', { now: c.now });
    assert.equal(peer.merge(secondLife.setLocal(web())), true);
    assert.equal(peer.get('n1', 'a1')?.Status, Status.ALIVE);
  });
});

describe('CatalogState lifespans', () => {
  it('tombstones a peer\'s record with no new version for ALIVE_MS, and a replayed copy does not keep it alive', () => {
    const c = clock();
    const owner = new CatalogState('n1', { now: clock().now });
    const peer = new CatalogState('n2', { now: c.now });
    const alive = owner.setLocal(web());
    peer.merge(alive);
    c.advance(LIFESPANS.ALIVE_MS - 1_000);
    peer.merge(alive); // the same version, looping back through another peer's push/pull
    assert.deepEqual(peer.expire(), []);
    c.advance(2_000);
    const expired = peer.expire();
    assert.deepEqual(expired.map((s) => [s.ID, s.Status, s.TombstonedBy]), [['a1', Status.TOMBSTONE, 'n2']]);
  });

  it('keeps a record the owner re-announces, and its own records always', () => {
    const c = clock();
    const owner = new CatalogState('n1', { now: c.now });
    const peer = new CatalogState('n2', { now: c.now });
    peer.merge(owner.setLocal(web()));
    for (let t = 0; t < 5 * LIFESPANS.ALIVE_MS; t += LIFESPANS.REANNOUNCE_MS) {
      c.advance(LIFESPANS.REANNOUNCE_MS);
      for (const s of owner.reannounce()) peer.merge(s);
      assert.deepEqual(peer.expire(), []);
      assert.deepEqual(owner.expire(), []);
    }
    assert.equal(peer.get('n1', 'a1')?.Status, Status.ALIVE);
  });

  it('gives DRAINING records their longer lifespan', () => {
    const c = clock();
    const peer = new CatalogState('n2', { now: c.now });
    peer.merge(new CatalogState('n1', { now: c.now }).setLocal(web('a1', Status.DRAINING)));
    c.advance(LIFESPANS.ALIVE_MS + 1_000);
    assert.deepEqual(peer.expire(), []);
    c.advance(LIFESPANS.DRAINING_MS);
    assert.equal(peer.expire().length, 1);
  });

  it('forgets a tombstone after TOMBSTONE_MS (and the empty server), and an old copy of the record cannot come back', () => {
    const c = clock();
    const owner = new CatalogState('n1', { now: c.now });
    const peer = new CatalogState('n2', { now: c.now });
    const alive = owner.setLocal(web());
    peer.merge(alive);
    peer.merge(owner.removeLocal('a1')!);
    c.advance(LIFESPANS.TOMBSTONE_MS + 1_000);
    peer.expire();
    assert.equal(peer.get('n1', 'a1'), undefined);
    assert.equal(peer.all().has('n1'), false);
    assert.equal(peer.merge(alive), false, 'a stale copy from a slow peer is refused');
    assert.equal(peer.merge(owner.setLocal(web())), true, 'the owner\'s next version is taken');
  });
});
