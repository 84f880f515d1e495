/**
 * memberlist's TransmitLimitedQueue: each broadcast is sent up to
 * retransmitMult × ⌈log10(n+1)⌉ times, least-sent first, and a newer message
 * about the same node replaces a queued one (queue.go).
 */
import { retransmitLimit } from './config.js';

interface Item {
  readonly name: string | null;
  readonly msg: Uint8Array;
  readonly id: number;
  transmits: number;
  readonly done: (() => void) | null;
}

export class BroadcastQueue {
  private items: Item[] = [];
  private nextId = 0;

  constructor(private readonly mult: number, private readonly numNodes: () => number) {}

  /** `name` invalidates older broadcasts about the same node; `done` runs when it stops being sent. */
  queue(name: string | null, msg: Uint8Array, done: (() => void) | null = null): void {
    if (name !== null) {
      for (const old of this.items.filter((i) => i.name === name)) old.done?.();
      this.items = this.items.filter((i) => i.name !== name);
    }
    this.items.push({ name, msg, id: this.nextId++, transmits: 0, done });
  }

  get length(): number { return this.items.length; }

  /** Messages fitting in `limit` bytes, each costing `overhead` more. */
  get(overhead: number, limit: number): Uint8Array[] {
    if (this.items.length === 0) return [];
    const max = retransmitLimit(this.mult, this.numNodes());
    this.items.sort((a, b) => a.transmits - b.transmits || b.id - a.id);
    const out: Uint8Array[] = [];
    let used = 0;
    for (const item of this.items) {
      if (used + overhead + item.msg.length > limit) continue;
      used += overhead + item.msg.length;
      out.push(item.msg);
      item.transmits++;
    }
    const finished = this.items.filter((i) => i.transmits >= max);
    if (finished.length > 0) {
      this.items = this.items.filter((i) => i.transmits < max);
      for (const f of finished) f.done?.();
    }
    return out;
  }

  clear(): void { this.items = []; }
}
