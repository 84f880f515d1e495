/** A clock that only moves when told to: timers run in time order, ties in creation order. */
import type { Clock, Timer } from '../protocol/types.js';

interface Entry { at: number; seq: number; fn: () => void; cancelled: boolean }

export class VirtualClock implements Clock {
  private heap: Entry[] = [];
  private seq = 0;
  private t = 0;
  /** Pending async work (streams) that must settle between timer batches. */
  pending = 0;

  now(): number { return this.t; }

  setTimer(ms: number, fn: () => void): Timer {
    const e: Entry = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(e);
    return { cancel: () => { e.cancelled = true; } };
  }

  /** Run every timer due up to now + ms, letting promise continuations run in between when any are pending. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const next = this.heap[0];
      if (next === undefined || next.at > end) break;
      this.pop();
      this.t = next.at;
      if (!next.cancelled) next.fn();
      if (this.pending > 0) await new Promise((r) => setImmediate(r));
    }
    this.t = end;
    if (this.pending > 0) await new Promise((r) => setImmediate(r));
  }

  private less(a: Entry, b: Entry): boolean { return a.at < b.at || (a.at === b.at && a.seq < b.seq); }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
