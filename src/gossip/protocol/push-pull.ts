/**
 * Push/pull anti-entropy (memberlist net.go: sendLocalState, mergeRemoteState,
 * verifyProtocol): the whole member table and the delegate's state, both ways.
 */
import { ipToBytes } from '../codec/ip.js';
import { NodeState, type PushNodeState } from '../codec/messages.js';
import type { NodeTable } from './node-table.js';
import type { MemberState } from './types.js';

const STATE_CODE: Record<MemberState, number> = {
  alive: NodeState.alive, suspect: NodeState.suspect, dead: NodeState.dead, left: NodeState.left,
};

export function localNodeStates(table: NodeTable): PushNodeState[] {
  return table.list.map((n) => ({
    name: n.name, addr: ipToBytes(n.addr), port: n.port, meta: n.meta, incarnation: n.incarnation,
    state: STATE_CODE[n.state], vsn: Uint8Array.from(n.vsn),
  }));
}

/**
 * Every alive node's current protocol and delegate versions must lie within
 * what all alive nodes (ours and theirs) understand, or the exchange fails.
 */
export function verifyProtocol(remote: readonly PushNodeState[], table: NodeTable): string | null {
  const vsns: number[][] = [];
  for (const r of remote) if (r.state === NodeState.alive && r.vsn.length >= 6) vsns.push([...r.vsn]);
  for (const n of table.list) if (n.state === 'alive' && n.vsn.length >= 6) vsns.push(n.vsn);
  if (vsns.length === 0) return null;
  const range = (lo: number, hi: number, cur: number): string | null => {
    const min = Math.max(...vsns.map((v) => v[lo]!));
    const max = Math.min(...vsns.map((v) => v[hi]!));
    const bad = vsns.find((v) => v[cur]! < min || v[cur]! > max);
    return bad === undefined ? null : `version ${bad[cur]} is outside the cluster's range ${min}..${max}`;
  };
  const p = range(0, 1, 2);
  if (p !== null) return `protocol ${p}`;
  const d = range(3, 4, 5);
  return d === null ? null : `delegate protocol ${d}`;
}
