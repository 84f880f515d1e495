/**
 * The sending half of an HTTP/2 connection: frames go into one FrameWriter and leave in one
 * write per batch (the end of a socket read, or the end of the event loop's turn); a backed-up
 * socket pauses reading and holds writers back; streams wait here for connection window.
 */
import { DEFAULT_MAX_FRAME, DEFAULT_WINDOW, FrameWriter } from './frames.js';
import type { H2Stream, StreamHost } from './stream.js';

/** Where the connection's output goes (a socket, or a test's buffer). */
export interface Transport {
  /** Returns false when the peer is slow: stop producing until drained() is called. */
  write(chunks: Buffer[]): boolean;
  pauseReading(): void;
  resumeReading(): void;
  /** Close after what was written (the connection is over). */
  end(): void;
}

/** Streams reset by us whose late frames are dropped quietly. */
const RESETS_REMEMBERED = 64;
/** Output not yet taken beyond this is written at once rather than at the end of the batch. */
const FLUSH_AT = 128 * 1024;

export abstract class ConnectionOutput implements StreamHost {
  readonly out = new FrameWriter();
  /** Peer's SETTINGS_MAX_FRAME_SIZE. */
  peerMaxFrame = DEFAULT_MAX_FRAME;
  /** Connection-level send window left. */
  sendWindow = DEFAULT_WINDOW;
  /** No more output: the connection failed, ended, or its transport is gone. */
  closed = false;
  protected readonly transport: Transport;
  protected readonly waitingForWindow = new Set<H2Stream>();
  /** Streams we reset lately: the client may still send frames on them, which are then dropped. */
  protected readonly resetByUs: number[] = [];
  private backedUp = false;
  private flushQueued = false;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  abstract streamClosed(s: H2Stream, code: number): void;

  scheduleFlush(): boolean {
    if (this.out.pending >= FLUSH_AT) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(this.flush);
    }
    return !this.backedUp;
  }

  readonly flush = (): void => {
    this.flushQueued = false;
    const chunks = this.out.take();
    if (chunks === null || this.closed) return;
    if (!this.transport.write(chunks) && !this.backedUp) {
      this.backedUp = true;
      this.transport.pauseReading();
    }
  };

  /** The transport took its backlog: reading resumes; true when writers may be told. */
  protected socketDrained(): boolean {
    this.backedUp = false;
    if (this.closed) return false;
    this.transport.resumeReading();
    return true;
  }

  waitForWindow(s: H2Stream): void {
    this.waitingForWindow.add(s);
  }

  replenish(s: H2Stream, n: number): void {
    this.out.windowUpdate(s.id, n);
    this.scheduleFlush();
  }

  streamReset(id: number): void {
    if (this.resetByUs.length >= RESETS_REMEMBERED) this.resetByUs.shift();
    this.resetByUs.push(id);
  }

  /**
   * The connection window opened: streams waiting for it send, in the order they began waiting.
   * Each is taken out first: sending may make its handler write again, and queue again.
   */
  protected resumeWaiting(): void {
    for (const s of [...this.waitingForWindow]) {
      if (this.sendWindow <= 0) break;
      this.waitingForWindow.delete(s);
      s.resumeSending();
    }
  }
}
