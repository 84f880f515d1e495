/**
 * News waiting to be gossiped, each item sent a bounded number of times (memberlist's
 * TransmitLimitedQueue, the idea: gossip/protocol/broadcast-queue.ts), but packed many to a message
 * by its caller, so each item has a cost in bytes instead of being a message of its own. Unsent
 * items go first, oldest first, then the ones sent fewer times than the limit, least recently sent
 * first. Newer news with the same key replaces the older. Bounded: past `max` waiting, an item
 * already sent at least once is dropped first, else the oldest unsent (the news is best effort).
 */
interface Waiting<T> {
  readonly key: string;
  readonly item: T;
  readonly cost: number;
  sent: number;
}

export class Outbox<T> {
  /** Items dropped before they were sent their times. */
  dropped = 0;
  private fresh: Waiting<T>[] = [];
  private resend: Waiting<T>[] = [];
  private readonly byKey = new Map<string, Waiting<T>>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  push(key: string, item: T, cost: number): void {
    const older = this.byKey.get(key);
    if (older !== undefined) this.remove(older);
    const waiting = { key, item, cost, sent: 0 };
    this.fresh.push(waiting);
    this.byKey.set(key, waiting);
    if (this.size <= this.max) return;
    this.remove((this.resend.length > 0 ? this.resend : this.fresh)[0]!);
    this.dropped++;
  }

  /** Waiting to be sent (at least once more). */
  get size(): number {
    return this.byKey.size;
  }

  /**
   * The next items in sending order whose costs add up to at most `budget` (one that does not fit
   * is passed over, not waited for); each counts one transmission, and leaves once sent `transmits` times.
   */
  take(budget: number, transmits: number): T[] {
    const picked: Waiting<T>[] = [];
    let used = 0;
    for (const queue of [this.fresh, this.resend]) {
      for (const waiting of queue) {
        if (used + waiting.cost > budget) continue;
        used += waiting.cost;
        picked.push(waiting);
      }
    }
    const taken = new Set(picked);
    this.fresh = this.fresh.filter((waiting) => !taken.has(waiting));
    this.resend = this.resend.filter((waiting) => !taken.has(waiting));
    for (const waiting of picked) {
      if (++waiting.sent < transmits) this.resend.push(waiting);
      else this.byKey.delete(waiting.key);
    }
    return picked.map((waiting) => waiting.item);
  }

  private remove(waiting: Waiting<T>): void {
    const queue = waiting.sent === 0 ? this.fresh : this.resend;
    queue.splice(queue.indexOf(waiting), 1);
    this.byKey.delete(waiting.key);
  }
}
