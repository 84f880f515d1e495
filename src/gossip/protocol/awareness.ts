/**
 * Lifeguard local health (memberlist awareness.go): a score 0…max−1 that
 * rises when this node misses acks or nacks it should have had, or has to
 * refute, and falls with every successful probe. Timeouts scale by score + 1,
 * so a struggling node probes more slowly and accuses others less.
 */
export class Awareness {
  private score = 0;

  constructor(private readonly max: number, private readonly enabled = true) {}

  applyDelta(delta: number): number {
    if (!this.enabled) return 0;
    this.score = Math.min(this.max - 1, Math.max(0, this.score + delta));
    return this.score;
  }

  get health(): number { return this.score; }

  scaleTimeout(ms: number): number { return ms * (this.score + 1); }
}
