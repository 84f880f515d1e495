/**
 * Lifeguard's suspicion timer (memberlist suspicion.go): it starts at `max`
 * and each independent confirmation (a suspect message from another member)
 * shrinks it on a log scale toward `min`, reached after k confirmations.
 */
import type { Clock, Timer } from './types.js';

export function remainingSuspicionTime(n: number, k: number, elapsed: number, min: number, max: number): number {
  const frac = Math.log(n + 1) / Math.log(k + 1);
  const raw = max - frac * (max - min);
  const timeout = Math.max(min, Math.floor(raw));
  return timeout - elapsed;
}

export class Suspicion {
  private readonly confirmations = new Set<string>();
  private readonly start: number;
  private timer: Timer;
  private n = 0;

  constructor(
    private readonly clock: Clock,
    from: string,
    private readonly k: number,
    private readonly min: number,
    private readonly max: number,
    private readonly fire: (confirmations: number) => void,
  ) {
    this.confirmations.add(from);
    this.start = clock.now();
    this.timer = clock.setTimer(k < 1 ? min : max, () => this.fire(this.n));
  }

  /** A suspect from `from`; true if it was new information (then it is re-gossiped). */
  confirm(from: string): boolean {
    if (this.n >= this.k || this.confirmations.has(from)) return false;
    this.confirmations.add(from);
    this.n++;
    const remaining = remainingSuspicionTime(this.n, this.k, this.clock.now() - this.start, this.min, this.max);
    this.timer.cancel();
    this.timer = this.clock.setTimer(Math.max(0, remaining), () => this.fire(this.n));
    return true;
  }

  get confirmationCount(): number { return this.n; }

  cancel(): void { this.timer.cancel(); }
}
