/**
 * Time limits on an exchange (--response-timeout, --read-timeout), distinct from the connect
 * timeout and from how long a request may take overall: a backend must start answering within
 * responseMs of the request being sent, and neither the request body (upload) nor the response
 * body may go readMs without a byte. A stream that keeps sending is never cut, and a slow client
 * (or a slow body tap) is not the backend's idleness.
 *
 * One Timeout per forwarder, re-armed with refresh() only when it has stopped: nothing is
 * allocated per request, reads only record a timestamp, and back-to-back requests leave the
 * running timer alone (re-inserting it into node's timer list showed ~1 µs per request in a CPU
 * profile; no end-to-end change could be told apart from noise). The check
 * runs every quarter of the shorter limit, so a limit fires between 1 and 1.25 times its value.
 */

/** What the watchdog asks of its owner. */
export interface WatchdogOwner {
  /** The client (or a tap) holds the relay back: the backend is not idle. */
  readonly waitingOnClient: boolean;
  /** The request body is still coming from the client. */
  readonly uploading: boolean;
  /** A limit passed: 'head' (no response head in time), 'body' (a stalled response body) or 'upload' (a stalled request body). */
  upstreamTimedOut(phase: 'head' | 'body' | 'upload'): void;
}

export class UpstreamWatchdog {
  readonly responseMs: number;
  readonly readMs: number;
  private readonly owner: WatchdogOwner;
  private readonly tickMs: number;
  private timer: NodeJS.Timeout | null = null;
  /** The timer will fire (it stops after a tick that finds no attempt running). */
  private armed = false;
  private active = false;
  private waitingHead = true;
  /** The whole request is on the wire; the response clock runs. */
  private sent = false;
  /** performance.now() the current limit counts from. */
  private since = 0;

  constructor(responseMs: number, readMs: number, owner: WatchdogOwner) {
    this.responseMs = responseMs;
    this.readMs = readMs;
    this.owner = owner;
    const limits = [responseMs, readMs].filter((ms) => ms > 0);
    this.tickMs = limits.length === 0 ? 0 : Math.max(10, Math.min(...limits) / 4);
  }

  /** An attempt started: the response clock starts once requestSent() is called. */
  start(): void {
    if (this.tickMs === 0) return;
    this.active = true;
    this.waitingHead = true;
    this.sent = false;
    this.since = performance.now();
    if (this.armed) return;
    this.armed = true;
    if (this.timer === null) {
      this.timer = setTimeout(this.tick, this.tickMs);
      this.timer.unref();
    } else {
      this.timer.refresh();
    }
  }

  /** The request head and its whole body went out. */
  requestSent(): void {
    if (this.sent || !this.waitingHead) return;
    this.sent = true;
    this.since = performance.now();
  }

  /** Bytes arrived from the backend or of the client's body (or a side drained: reading starts again now). */
  read(): void {
    if (this.active) this.since = performance.now();
  }

  headSeen(): void {
    this.waitingHead = false;
    this.since = performance.now();
  }

  /** The attempt ended. The timer fires once more and then stays idle. */
  stop(): void {
    this.active = false;
  }

  private readonly tick = (): void => {
    this.armed = false;
    if (!this.active) return;
    const idle = performance.now() - this.since;
    if (this.waitingHead) {
      if (this.sent) {
        if (this.responseMs > 0 && idle >= this.responseMs) return this.fire('head');
      } else if (this.readMs > 0 && idle >= this.readMs && this.owner.uploading) {
        return this.fire('upload');
      }
    } else if (this.readMs > 0 && idle >= this.readMs) {
      if (this.owner.waitingOnClient) this.since = performance.now();
      else return this.fire('body');
    }
    this.armed = true;
    this.timer!.refresh();
  };

  private fire(phase: 'head' | 'body' | 'upload'): void {
    this.active = false;
    this.owner.upstreamTimedOut(phase);
  }
}
