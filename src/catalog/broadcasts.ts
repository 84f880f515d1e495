/**
 * Bounded retransmission of catalog records (memberlist's TransmitLimitedQueue, the idea): each
 * record news is sent a fixed number of times that grows with the log of the cluster size, a newer
 * record about the same instance replaces the older one in the queue, and the least-sent go first.
 * Sidecar instead re-sent by bumping `Updated` so peers took the copy as new, and peers re-flooded
 * what was new to them: the traffic had no bound.
 */
export const RETRANSMIT_MULT = 4;

interface Item {
  readonly key: string;
  readonly bytes: Uint8Array;
  transmits: number;
}

export class BroadcastQueue {
  private readonly items = new Map<string, Item>();
  private readonly clusterSize: () => number;

  constructor(clusterSize: () => number) {
    this.clusterSize = clusterSize;
  }

  /** How many times each item is sent: RETRANSMIT_MULT × ceil(log10(n + 1)). */
  limit(): number {
    return RETRANSMIT_MULT * Math.max(1, Math.ceil(Math.log10(this.clusterSize() + 1)));
  }

  /** Queue news about `key`, replacing any older news about it. */
  enqueue(key: string, bytes: Uint8Array): void {
    this.items.set(key, { key, bytes, transmits: 0 });
  }

  get size(): number {
    return this.items.size;
  }

  /** Items that fit in `limit` bytes (each costing `overhead` more), least-sent first; each counts one transmission. */
  take(overhead: number, limit: number): Uint8Array[] {
    const max = this.limit();
    const out: Uint8Array[] = [];
    let used = 0;
    for (const item of [...this.items.values()].sort((a, b) => a.transmits - b.transmits)) {
      const cost = overhead + item.bytes.length;
      if (used + cost > limit) continue;
      used += cost;
      out.push(item.bytes);
      if (++item.transmits >= max) this.items.delete(item.key);
    }
    return out;
  }
}
