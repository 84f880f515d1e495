// The whole protocol over a virtual network and clock: SWIM + Lifeguard behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster, nameOf, addressOf } from '../sim/cluster.js';
import { encodeAlive, encodeIndirectPing, encodeSuspect } from '../codec/messages.js';
import { sealPacket } from '../codec/packet.js';
import type { Delegate } from './types.js';

const allSee = (c: SimCluster, n: number, subject: number, state: string, except: number[] = []): boolean => {
  for (let i = 0; i < n; i++) if (i !== subject && !except.includes(i) && c.stateOf(i, subject) !== state) return false;
  return true;
};

test('5 members joining one seed converge to 5 alive within a second of virtual time', async () => {
  const c = new SimCluster({ seed: 7 });
  await c.form(5, 0);
  const t = await c.until(() => [0, 1, 2, 3, 4].every((i) => c.get(i).liveMembers().length === 5), 10_000);
  assert.ok(t >= 0 && t <= 1000, `converged after ${t} ms`);
  c.shutdown();
});

test('a killed member is suspected, then declared dead by all within probe round + suspicion timeout', async () => {
  const c = new SimCluster({ seed: 3 });
  await c.form(5);
  c.kill(4);
  // Worst case: one probe round over 4 peers (4 s) + the 1 s probe + suspicion max 6 × 4 s;
  // with 2 confirmations expected from the other 3 it should shrink to about 4 s.
  const t = await c.until(() => allSee(c, 4, 4, 'dead'), 30_000);
  assert.ok(t >= 4000, `dead after ${t} ms: not before the minimum suspicion timeout`);
  assert.ok(t > 0 && t <= 12_000, `dead after ${t} ms`);
  c.shutdown();
});

test('a member accused wrongly refutes with a higher incarnation and stays alive everywhere', async () => {
  const c = new SimCluster({ seed: 5 });
  await c.form(5);
  const victim = c.get(2);
  const before = victim.localNode!.incarnation;
  const lie = encodeSuspect({ incarnation: before, node: nameOf(2), from: nameOf(0) });
  c.get(1).handlePacket(sealPacket(lie, c.get(1).wire, false), addressOf(0));
  assert.equal(c.stateOf(1, 2), 'suspect');
  await c.clock.advance(3000);
  assert.ok(victim.localNode!.incarnation > before, 'incarnation went up');
  assert.ok(victim.stats.refutations >= 1);
  await c.clock.advance(20_000);
  assert.ok(allSee(c, 5, 2, 'alive'), 'nobody declared the victim dead');
  c.shutdown();
});

test('graceful leave is seen as left (not dead) by everyone within a second', async () => {
  const c = new SimCluster({ seed: 11 });
  await c.form(5);
  const leaving = c.get(3).leave(5000);
  const t = await c.until(() => allSee(c, 5, 3, 'left', [3]), 5000, 10);
  await c.clock.advance(5000);
  await leaving;
  assert.ok(t >= 0 && t <= 1000, `left after ${t} ms`);
  c.shutdown();
});

test('dead members are reaped after GossipToTheDeadTime', async () => {
  const c = new SimCluster({ seed: 2 });
  await c.form(4);
  c.kill(3);
  await c.until(() => allSee(c, 3, 3, 'dead'), 40_000);
  assert.equal(c.get(0).members().length, 4);
  const t = await c.until(() => [0, 1, 2].every((i) => c.get(i).nodeRecord(nameOf(3)) === undefined), 60_000, 500);
  assert.ok(t >= 25_000, `reaped after ${t} ms, not before ~30 s`);
  c.shutdown();
});

test('a restarted member with the same name rejoins by refuting its old entry', async () => {
  const c = new SimCluster({ seed: 9 });
  await c.form(4);
  c.kill(3);
  await c.until(() => allSee(c, 3, 3, 'dead'), 40_000);
  const again = c.add(3);
  const joined = again.join([addressOf(0)]);
  await c.clock.advance(100);
  assert.equal(await joined, 1);
  const t = await c.until(() => allSee(c, 4, 3, 'alive'), 5000);
  assert.ok(t >= 0, 'alive again everywhere');
  assert.ok(again.localNode!.incarnation >= 2, 'rejoined with a higher incarnation');
  c.shutdown();
});

test('user messages and push/pull state reach the delegate; meta travels in alive', async () => {
  const got = new Map<string, string[]>();
  const merged = new Map<string, string[]>();
  const delegate = (name: string): Delegate => {
    const queue: Uint8Array[] = name === nameOf(0) ? [Buffer.from('hello from 0')] : [];
    return {
      nodeMeta: () => Buffer.from(`meta-${name}`),
      notifyMsg: (b) => { got.set(name, [...(got.get(name) ?? []), Buffer.from(b).toString()]); },
      getBroadcasts: () => queue.splice(0),
      localState: () => Buffer.from(`state-${name}`),
      mergeRemoteState: (b, join) => { merged.set(name, [...(merged.get(name) ?? []), `${join}:${Buffer.from(b).toString()}`]); },
    };
  };
  const c = new SimCluster({ seed: 4, delegate });
  await c.form(3, 2000);
  assert.ok(merged.get(nameOf(1))?.includes('true:state-node-0'), 'joiner merged the seed state');
  assert.ok(merged.get(nameOf(0))?.includes('true:state-node-1'), 'seed merged the joiner state');
  assert.ok((got.get(nameOf(1)) ?? []).includes('hello from 0') || (got.get(nameOf(2)) ?? []).includes('hello from 0'), 'a user broadcast was gossiped');
  const m0 = c.get(1).nodeRecord(nameOf(0))!;
  assert.equal(Buffer.from(m0.meta).toString(), 'meta-node-0');
  c.get(0).sendBestEffort(c.get(0).nodeRecord(nameOf(2))!, Buffer.from('direct'));
  const sent = c.get(0).sendReliable(c.get(0).nodeRecord(nameOf(1))!, Buffer.from('reliable'));
  await c.clock.advance(100);
  await sent;
  assert.ok(got.get(nameOf(2))?.includes('direct'));
  assert.ok(got.get(nameOf(1))?.includes('reliable'));
  c.shutdown();
});

test('local health: a member cut off from everyone raises its health score and slows its probing', async () => {
  const c = new SimCluster({ seed: 6 });
  await c.form(6);
  c.net.partition(addressOf(5), 1);
  await c.clock.advance(8000);
  assert.ok(c.get(5).health >= 2, `health ${c.get(5).health}`);
  assert.equal(c.get(0).health, 0);
  c.shutdown();
});

test('a healed partition converges back to everyone alive', async () => {
  const c = new SimCluster({ seed: 8 });
  await c.form(6);
  for (const i of [3, 4, 5]) c.net.partition(addressOf(i), 1);
  await c.until(() => c.stateOf(0, 5) === 'dead', 60_000);
  c.net.heal();
  // Dead members are not probed; push/pull (30 s) carries the news that they are alive.
  const t = await c.until(() => [0, 1, 2, 3, 4, 5].every((i) => c.get(i).liveMembers().length === 6), 120_000, 200);
  assert.ok(t >= 0, 'converged after healing');
  c.shutdown();
});

test('indirect probes: with the direct path lost, relays keep a member alive', async () => {
  const c = new SimCluster({ seed: 12 });
  await c.form(5);
  // Drop every datagram between 0 and 1 only; 0 and 1 probe each other through others.
  const net = c.net as unknown as { reachable: (a: string, b: string) => boolean };
  const orig = net.reachable.bind(c.net);
  const a = `${addressOf(0).addr}:7946`;
  const b = `${addressOf(1).addr}:7946`;
  net.reachable = (x, y) => !((x === a && y === b) || (x === b && y === a)) && orig(x, y);
  await c.clock.advance(30_000);
  assert.equal(c.stateOf(0, 1), 'alive');
  assert.equal(c.stateOf(1, 0), 'alive');
  c.shutdown();
});

test('hostile but well-formed messages (bad address lengths, short Vsn) are dropped without effect', async () => {
  const c = new SimCluster({ seed: 13 });
  await c.form(3);
  const m = c.get(0);
  const before = m.stats.badPackets;
  const bad = [
    encodeAlive({ incarnation: 9, node: 'evil', addr: Uint8Array.of(1, 2, 3, 4, 5), port: 1, meta: null, vsn: Uint8Array.of(1, 5, 2, 0, 0, 0) }),
    encodeAlive({ incarnation: 9, node: 'short-vsn', addr: Uint8Array.of(1, 2, 3, 4), port: 1, meta: null, vsn: Uint8Array.of(1, 5) }),
    encodeIndirectPing({ seqNo: 1, node: 'x', target: Uint8Array.of(9), port: 1, nack: true }),
  ];
  for (const b of bad) m.handlePacket(sealPacket(b, m.wire, false), addressOf(9));
  await c.clock.advance(1000);
  assert.equal(m.nodeRecord('evil'), undefined);
  assert.equal(m.nodeRecord('short-vsn'), undefined);
  assert.ok(m.stats.badPackets >= before + 2);
  assert.equal(m.liveMembers().length, 3);
  c.shutdown();
});

test('version vectors: a joiner whose delegate version is outside the cluster\'s range is refused; a compatible range joins', async () => {
  const c = new SimCluster({ seed: 14 });
  await c.form(3);
  const misfit = c.add(3, { delegateProtocolMin: 1, delegateProtocolMax: 2, delegateProtocolVersion: 2 });
  const refused = misfit.join([addressOf(0)]);
  await c.clock.advance(100);
  assert.equal(await refused, 0, 'delegate version 2 is outside the cluster\'s 0..0');
  assert.equal(c.stateOf(0, 3), undefined);
  const fits = c.add(4, { delegateProtocolMin: 0, delegateProtocolMax: 2, delegateProtocolVersion: 0 });
  const joined = fits.join([addressOf(0)]);
  await c.clock.advance(100);
  assert.equal(await joined, 1);
  assert.deepEqual(c.get(0).nodeRecord(nameOf(4))?.vsn, [1, 5, 2, 0, 2, 0], 'its vector travels in alive');
  c.shutdown();
});
