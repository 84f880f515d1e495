/**
 * News waiting to be gossiped, each item sent a bounded number of times (memberlist's
 * TransmitLimitedQueue, the idea): unsent items first, oldest first, then the ones sent fewer times
 * than the limit, least recently sent first. Bounded: past `max` waiting, an item already sent at
 * least once is dropped first, else the oldest unsent (the news is best effort).
 */
interface Waiting<T> {
  readonly item: T;
  sent: number;
}

export class Outbox<T> {
  /** Items dropped before they were sent their times. */
  dropped = 0;
  private fresh: Waiting<T>[] = [];
  private resend: Waiting<T>[] = [];
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  push(item: T): void {
    this.fresh.push({ item, sent: 0 });
    if (this.size <= this.max) return;
    (this.resend.length > 0 ? this.resend : this.fresh).shift();
    this.dropped++;
  }

  /** Waiting to be sent (at least once more). */
  get size(): number {
    return this.fresh.length + this.resend.length;
  }

  /**
   * The next items in sending order whose costs add up to at most `budget`; each counts one
   * transmission, and leaves the outbox once sent `transmits` times.
   */
  take(budget: number, cost: (item: T) => number, transmits: number): T[] {
    const picked: Waiting<T>[] = [];
    let used = 0;
    for (const queue of [this.fresh, this.resend]) {
      while (queue.length > 0 && used + cost(queue[0]!.item) <= budget) {
        used += cost(queue[0]!.item);
        picked.push(queue.shift()!);
      }
      if (queue.length > 0) break;
    }
    for (const waiting of picked) if (++waiting.sent < transmits) this.resend.push(waiting);
    return picked.map((waiting) => waiting.item);
  }
}
