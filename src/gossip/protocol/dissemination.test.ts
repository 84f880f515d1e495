// How news travels, over the virtual network and clock: piggybacked on probes, by periodic
// push/pull when datagrams fail, and when a dead member's name may move to a new address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster, nameOf, addressOf } from '../sim/cluster.js';
import { encodeAlive } from '../codec/messages.js';
import { decodePacket, sealPacket } from '../codec/packet.js';
import { ipToBytes } from '../codec/ip.js';
import type { Prober } from './probe.js';

const VSN = Uint8Array.of(1, 5, 2, 0, 0, 0);

test('a pending broadcast rides along on the next ping, in one compound datagram', async () => {
  const c = new SimCluster({ seed: 31 });
  await c.form(3);
  const m = c.get(0);
  const news = { incarnation: 1, node: 'newcomer', addr: ipToBytes('10.9.0.1'), port: 7946, meta: null, vsn: VSN };
  m.broadcasts.queue('newcomer', encodeAlive(news));
  const target = c.get(1);
  const datagrams: string[][] = [];
  const handle = target.handlePacket.bind(target);
  target.handlePacket = (buf, from) => { datagrams.push(decodePacket(buf, target.wire).messages.map((x) => x.kind)); handle(buf, from); };
  (m as unknown as { prober: Prober }).prober.probeNode(m.nodeRecord(nameOf(1))!, () => {});
  await c.clock.advance(5);
  assert.deepEqual(datagrams[0], ['ping', 'alive'], 'the ping carried the alive');
  assert.equal(target.nodeRecord('newcomer')?.state, 'alive');
  c.shutdown();
});

test('with every datagram lost, periodic push/pull over TCP still spreads a new member to all', async () => {
  const c = new SimCluster({ seed: 32 });
  await c.form(5);
  c.net.link = { loss: 1, delay: 1, jitter: 1 };
  const streams = c.net.streams;
  // The join itself is a push/pull with member 0 only; no gossip gets through after it.
  const late = c.add(5);
  void late.join([addressOf(0)]);
  await c.clock.advance(1000);
  assert.equal(c.stateOf(0, 5), 'alive');
  assert.equal(c.stateOf(3, 5), undefined, 'no datagram carried the news');
  // PushPullInterval 30 s, each member at a random 15–30 s offset, then every 30 s.
  const t = await c.until(() => [1, 2, 3, 4].every((i) => c.stateOf(i, 5) === 'alive'), 120_000, 500);
  assert.ok(t >= 0, 'every member learned of member 5');
  assert.ok(c.net.streams > streams + 4, 'by TCP streams');
  // TCP pings kept everyone alive meanwhile (memberlist's fallback).
  for (let i = 0; i <= 5; i++) assert.equal(c.get(i).liveMembers().length, 6, `member ${i} sees 6 alive`);
  c.shutdown();
});

test('a dead member\'s name moves to a new address only after DeadNodeReclaimTime', async () => {
  // Reaping (GossipToTheDeadTime) would forget the name altogether: keep it longer than the test.
  const c = new SimCluster({ seed: 33, config: { deadNodeReclaimTime: 20_000, gossipToTheDeadTime: 120_000 } });
  await c.form(4);
  const m = c.get(0);
  c.kill(3);
  await c.until(() => m.nodeRecord(nameOf(3))?.state === 'dead', 40_000);
  const moved = (incarnation: number): void => {
    const alive = encodeAlive({ incarnation, node: nameOf(3), addr: ipToBytes('10.9.9.9'), port: 7946, meta: null, vsn: VSN });
    m.handlePacket(sealPacket(alive, m.wire, false), addressOf(1));
  };
  moved(50);
  assert.equal(m.nodeRecord(nameOf(3))?.addr, addressOf(3).addr, 'refused while freshly dead');
  assert.equal(m.nodeRecord(nameOf(3))?.state, 'dead');
  await c.clock.advance(25_000);
  moved(51);
  assert.equal(m.nodeRecord(nameOf(3))?.addr, '10.9.9.9', 'reclaimed after the delay');
  assert.equal(m.nodeRecord(nameOf(3))?.state, 'alive');
  c.shutdown();
});
