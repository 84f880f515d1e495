/** Waiting acks and nacks by sequence number, each with its own deadline (memberlist ackHandlers). */
import type { Clock, Timer } from './types.js';

interface Handler {
  readonly onAck: (payload: Uint8Array | null, at: number) => void;
  readonly onNack: () => void;
  readonly timer: Timer;
}

export class AckHandlers {
  private readonly handlers = new Map<number, Handler>();

  constructor(private readonly clock: Clock) {}

  /** `onTimeout` runs if no ack arrived within `timeoutMs`; an ack removes the handler. */
  set(seq: number, timeoutMs: number, onAck: Handler['onAck'], onNack: () => void, onTimeout: () => void): void {
    const timer = this.clock.setTimer(timeoutMs, () => {
      this.handlers.delete(seq);
      onTimeout();
    });
    this.handlers.set(seq, { onAck, onNack, timer });
  }

  ack(seq: number, payload: Uint8Array | null): boolean {
    const h = this.handlers.get(seq);
    if (h === undefined) return false;
    this.handlers.delete(seq);
    h.timer.cancel();
    h.onAck(payload, this.clock.now());
    return true;
  }

  nack(seq: number): void { this.handlers.get(seq)?.onNack(); }

  clear(): void {
    for (const h of this.handlers.values()) h.timer.cancel();
    this.handlers.clear();
  }
}
