/**
 * The member list: a map by name plus the probe order (memberlist's
 * m.nodes / m.nodeMap). New nodes go in at a random position and the list is
 * reshuffled after each full probe round, so every member is probed once per
 * round in an unpredictable order (SWIM's round-robin bound).
 */
import type { Member, MemberState } from './types.js';

export interface NodeRecord {
  name: string;
  addr: string;
  port: number;
  meta: Uint8Array;
  incarnation: number;
  state: MemberState;
  stateChange: number;
  vsn: number[];
}

export const snapshot = (n: NodeRecord): Member => ({ ...n, vsn: [...n.vsn] });

export class NodeTable {
  readonly byName = new Map<string, NodeRecord>();
  list: NodeRecord[] = [];

  constructor(private readonly random: () => number) {}

  get size(): number { return this.list.length; }

  get(name: string): NodeRecord | undefined { return this.byName.get(name); }

  add(n: NodeRecord): void {
    this.byName.set(n.name, n);
    const at = Math.floor(this.random() * (this.list.length + 1));
    this.list.splice(at, 0, n);
  }

  /** Drop dead and left members older than `ageMs`, then reshuffle (resetNodes). */
  reapAndShuffle(now: number, ageMs: number): NodeRecord[] {
    const gone = this.list.filter((n) => (n.state === 'dead' || n.state === 'left') && now - n.stateChange > ageMs);
    if (gone.length > 0) {
      this.list = this.list.filter((n) => !gone.includes(n));
      for (const g of gone) this.byName.delete(g.name);
    }
    for (let i = this.list.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [this.list[i], this.list[j]] = [this.list[j]!, this.list[i]!];
    }
    return gone;
  }

  /** Up to k distinct members for which `skip` is false, chosen at random (kRandomNodes). */
  kRandom(k: number, skip: (n: NodeRecord) => boolean): NodeRecord[] {
    const n = this.list.length;
    const out: NodeRecord[] = [];
    for (let i = 0; i < 3 * n && out.length < k; i++) {
      const cand = this.list[Math.floor(this.random() * n)]!;
      if (skip(cand) || out.includes(cand)) continue;
      out.push(cand);
    }
    return out;
  }

  count(state: MemberState): number {
    let c = 0;
    for (const n of this.list) if (n.state === state) c++;
    return c;
  }
}
