// The simulator's reason to exist, checked small: members whose receive path stalls make plain
// SWIM declare healthy members dead; Lifeguard (local health, confirmations, buddy) does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster, addressOf, nameOf } from './cluster.js';
import type { Member } from '../protocol/types.js';

async function healthyDeclaredDead(lifeguard: boolean): Promise<number> {
  let measuring = false;
  const stalled = new Set([nameOf(0), nameOf(1)]);
  const episodes = new Set<string>();
  const onEvent = (_o: string, kind: string, node: Member): void => {
    if (measuring && kind === 'leave' && node.state === 'dead' && !stalled.has(node.name)) episodes.add(`${node.name}/${node.incarnation}`);
  };
  const c = new SimCluster({ seed: 42, config: { lifeguard, disableTcpPings: true }, onEvent });
  await c.form(16);
  // Two members take no packets in for 10 s out of every 20 s.
  c.net.stall(addressOf(0), 20_000, 10_000, 3_000);
  c.net.stall(addressOf(1), 20_000, 10_000, 13_000);
  measuring = true;
  await c.clock.advance(180_000);
  c.shutdown();
  return episodes.size;
}

test('stalling members: SWIM declares healthy members dead, Lifeguard does not (16 members, 3 virtual minutes)', async () => {
  const swim = await healthyDeclaredDead(false);
  const lifeguard = await healthyDeclaredDead(true);
  assert.ok(swim >= 3, `SWIM false deaths: ${swim}`);
  assert.equal(lifeguard, 0, `Lifeguard false deaths: ${lifeguard}`);
});
