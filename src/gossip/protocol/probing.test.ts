// Failure detection in detail, over the virtual network and clock: the probe walk, indirect
// probes answered with nacks, and what nacks do to the prober's local health.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster, nameOf, addressOf } from '../sim/cluster.js';
import { encodeIndirectPing } from '../codec/messages.js';
import { decodePacket, sealPacket, type PacketMessage } from '../codec/packet.js';
import { ipToBytes } from '../codec/ip.js';
import type { Memberlist } from './memberlist.js';
import type { Prober } from './probe.js';

/** Everything that reaches member i, decoded, with the virtual time it arrived. */
function tap(c: SimCluster, i: number): { at: number; m: PacketMessage }[] {
  const seen: { at: number; m: PacketMessage }[] = [];
  const member = c.get(i);
  const handle = member.handlePacket.bind(member);
  member.handlePacket = (buf, from) => {
    for (const m of decodePacket(buf, member.wire).messages) seen.push({ at: c.clock.now(), m });
    handle(buf, from);
  };
  return seen;
}

const proberOf = (m: Memberlist): Prober => (m as unknown as { prober: Prober }).prober;

test('the probe walk: one member per interval, each of the n−1 others once per round, in a new order each round', async () => {
  const c = new SimCluster({ seed: 21 });
  await c.form(6);
  const taps = [1, 2, 3, 4, 5].map((i) => ({ i, seen: tap(c, i) }));
  await c.clock.advance(40_000);
  const pings = taps.flatMap(({ i, seen }) => seen.filter((s) => s.m.kind === 'ping' && s.m.msg.sourceNode === nameOf(0)).map((s) => ({ i, at: s.at })))
    .sort((a, b) => a.at - b.at);
  const order = pings.map((p) => p.i);
  assert.ok(order.length >= 38 && order.length <= 41, `${order.length} probes in 40 s at a 1 s interval`);
  // Rounds need not start with the window: any 2(n−1) consecutive probes still cover every member
  // (SWIM's bound on time to first detection), and each member is probed 8 times ± 1.
  for (let s = 0; s + 10 <= order.length; s++) assert.equal(new Set(order.slice(s, s + 10)).size, 5, `probes ${s}…${s + 9} cover all 5`);
  for (const i of [1, 2, 3, 4, 5]) {
    const n = order.filter((x) => x === i).length;
    assert.ok(n >= 7 && n <= 9, `member ${i} probed ${n} times`);
  }
  assert.ok(order.some((x, k) => k + 5 < order.length && order[k + 5] !== x), 'the order changes between rounds (reshuffled)');
  c.shutdown();
});

test('a relay that cannot reach the target sends a nack after ProbeTimeout; one that can relays the ack, no nack', async () => {
  const c = new SimCluster({ seed: 22 });
  await c.form(3);
  // The origin is a bare address this test listens on.
  const origin = addressOf(9);
  const heard: { at: number; m: PacketMessage }[] = [];
  c.net.attach(origin, {
    handlePacket: (buf) => { for (const m of decodePacket(buf, c.get(1).wire).messages) heard.push({ at: c.clock.now(), m }); },
    parseStream: () => null,
    handleStream: async () => null,
  });
  const ask = (seqNo: number, target: number, nack: boolean): void => {
    const to = addressOf(target);
    const ind = encodeIndirectPing({ seqNo, node: nameOf(target), target: ipToBytes(to.addr), port: to.port, nack,
      sourceAddr: ipToBytes(origin.addr), sourcePort: origin.port, sourceNode: 'origin' });
    c.get(1).handlePacket(sealPacket(ind, c.get(1).wire, false), origin);
  };
  const kinds = (seqNo: number): string[] => heard.filter((h) => 'msg' in h.m && 'seqNo' in h.m.msg && h.m.msg.seqNo === seqNo).map((h) => h.m.kind);

  c.kill(2);
  const asked = c.clock.now();
  ask(101, 2, true);
  ask(102, 2, false);
  ask(103, 0, true);
  await c.clock.advance(2000);
  assert.deepEqual(kinds(101), ['nack'], 'dead target, nack wanted: a nack');
  const nackAt = heard.find((h) => h.m.kind === 'nack')!.at - asked;
  assert.ok(nackAt >= 500 && nackAt < 600, `nack ${nackAt} ms after the request (ProbeTimeout 500 ms)`);
  assert.deepEqual(kinds(102), [], 'dead target, no nack wanted: silence');
  assert.deepEqual(kinds(103), ['ack'], 'live target: its ack relayed, no nack');
  c.shutdown();
});

test('nacks from every relay spare the prober\'s health; a prober nobody answers pays for each missing nack', async () => {
  // A deadline long enough for the nacks (interval × (health + 1) = 2 s at health 1).
  const run = async (cutOff: boolean): Promise<number> => {
    const c = new SimCluster({ seed: 23 });
    await c.form(5);
    const m = c.get(0);
    const target = m.nodeRecord(nameOf(4))!;
    c.kill(4);
    if (cutOff) c.net.partition(addressOf(0), 1);
    m.awareness.applyDelta(1);
    const deltas: number[] = [];
    const apply = m.awareness.applyDelta.bind(m.awareness);
    m.awareness.applyDelta = (d) => { deltas.push(d); return apply(d); };
    let failedDelta: number | undefined;
    proberOf(m).probeNode(target, () => { failedDelta = deltas.at(-1); });
    await c.until(() => failedDelta !== undefined, 5000, 10);
    c.shutdown();
    return failedDelta!;
  };
  assert.equal(await run(false), 0, '3 relays, 3 nacks: the fault is the target\'s, not ours');
  assert.equal(await run(true), 3, 'cut off: 3 nacks expected, none came');
});
