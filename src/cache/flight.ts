/**
 * Single flight: concurrent misses for one URL in one process share one upstream fetch. The
 * first request (the leader) goes to the backend; later ones (followers) wait for its response
 * head, then read its body while it arrives, from a window of recent chunks, as Varnish's
 * streaming fetch does: no follower waits for the whole body. A follower that falls a whole
 * window behind detaches and reads the rest from the store once the fill completes.
 */
import { Readable } from 'node:stream';

/** What followers need of the leader's response to answer their own clients. */
export interface FlightHead {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Content-Length, or -1. */
  readonly length: number;
  /** Vary fields of the response and the variant they select for the leader. */
  readonly vary: readonly string[];
  readonly variant: string;
}

/** Reads the rest of the body from the store after the fill completed: null when it cannot. */
export type Catchup = (from: number) => Promise<Readable | null>;

export class Flight {
  /** Resolves with the head once the leader's response is known to be shared; null: followers go on their own. */
  readonly head: Promise<FlightHead | null>;
  private resolveHead!: (head: FlightHead | null) => void;
  private chunks: Buffer[] = [];
  /** Body offset of chunks[0]. */
  private windowStart = 0;
  private windowBytes = 0;
  private total = 0;
  private state: 'waiting' | 'streaming' | 'ended' | 'failed' = 'waiting';
  private readonly readers = new Set<FlightReader>();
  private readonly maxWindow: number;
  /** How detached readers continue once the fill is over: from the store, or null when it failed. */
  readonly stored: Promise<Catchup | null>;
  private resolveStored!: (catchup: Catchup | null) => void;

  constructor(maxWindow: number) {
    this.maxWindow = maxWindow;
    this.head = new Promise((resolve) => { this.resolveHead = resolve; });
    this.stored = new Promise((resolve) => { this.resolveStored = resolve; });
  }

  /** The fill completed (`catchup` reads the stored body) or did not (null). */
  settle(catchup: Catchup | null): void {
    this.resolveStored(catchup);
  }

  /** Followers reading this fetch now. */
  get followers(): number {
    return this.readers.size;
  }

  /** Followers can still join at byte 0: the window has not moved (even once the body has ended). */
  get joinable(): boolean {
    return this.state === 'waiting' || ((this.state === 'streaming' || this.state === 'ended') && this.windowStart === 0);
  }

  get ended(): boolean {
    return this.state === 'ended' || this.state === 'failed';
  }

  start(head: FlightHead): void {
    if (this.state !== 'waiting') return;
    this.state = 'streaming';
    this.resolveHead(head);
  }

  /** The leader's response will not be shared (not cacheable, failed before its head). */
  cancel(): void {
    if (this.state !== 'waiting') return;
    this.state = 'failed';
    this.resolveHead(null);
    this.settle(null);
  }

  /** A copy of body bytes, in order. */
  push(chunk: Buffer): void {
    if (this.state !== 'streaming') return;
    this.chunks.push(chunk);
    this.windowBytes += chunk.length;
    this.total += chunk.length;
    while (this.windowBytes > this.maxWindow && this.chunks.length > 1) {
      const dropped = this.chunks.shift()!;
      this.windowBytes -= dropped.length;
      this.windowStart += dropped.length;
    }
    // Past byte 0 no one new can join: with no follower reading, the window serves no one (a fill's memory is then the upload's alone).
    if (this.windowStart > 0 && this.readers.size === 0) {
      this.chunks = [];
      this.windowBytes = 0;
      this.windowStart = this.total;
    }
    for (const reader of this.readers) reader.wake();
  }

  /** The body ended cleanly. */
  end(): void {
    if (this.state !== 'streaming') return;
    this.state = 'ended';
    for (const reader of this.readers) reader.wake();
  }

  /** The body broke off: every follower's response breaks too (never a shorter whole one). */
  fail(): void {
    this.cancel();
    this.settle(null);
    this.chunks = [];
    this.state = 'failed';
    for (const reader of this.readers) reader.wake();
  }

  /** A follower's body, from byte 0. */
  reader(): Readable {
    const reader = new FlightReader(this);
    this.readers.add(reader);
    reader.once('close', () => this.readers.delete(reader));
    return reader;
  }

  /** The chunk holding `offset`, sliced to start there; 'gone' when the window moved past it. */
  chunkAt(offset: number): Buffer | 'gone' | 'wait' | 'end' | 'failed' {
    if (offset < this.windowStart) return 'gone';
    let at = this.windowStart;
    for (const chunk of this.chunks) {
      if (offset < at + chunk.length) return chunk.subarray(offset - at);
      at += chunk.length;
    }
    if (this.state === 'failed') return 'failed';
    return this.state === 'ended' ? 'end' : 'wait';
  }
}

/** One follower's view of a flight: a Readable that pulls from the window at its client's pace. */
class FlightReader extends Readable {
  private offset = 0;
  private waiting = false;
  private detached = false;
  private readonly flight: Flight;

  constructor(flight: Flight) {
    super({ highWaterMark: 64 * 1024 });
    this.flight = flight;
  }

  wake(): void {
    if (this.waiting) {
      this.waiting = false;
      this._read();
    }
  }

  override _read(): void {
    if (this.detached) return;
    for (;;) {
      const next = this.flight.chunkAt(this.offset);
      if (next === 'wait') {
        this.waiting = true;
        return;
      }
      if (next === 'end') {
        this.push(null);
        return;
      }
      if (next === 'failed') {
        this.destroy(new Error('the shared upstream response broke off'));
        return;
      }
      if (next === 'gone') {
        this.detach();
        return;
      }
      this.offset += next.length;
      if (!this.push(next)) return;
    }
  }

  /** Too far behind: wait for the fill, then continue from the store. */
  private detach(): void {
    this.detached = true;
    void this.flight.stored.then((catchup) => {
      if (this.destroyed) return;
      if (catchup === null) {
        this.destroy(new Error('fell behind the shared response and the fill did not complete'));
        return;
      }
      catchup(this.offset).then((rest) => this.follow(rest), (err: Error) => this.destroy(err));
    });
  }

  private follow(rest: Readable | null): void {
    if (rest === null) {
      this.destroy(new Error('the stored body is gone'));
      return;
    }
    rest.on('data', (chunk: Buffer) => { if (!this.push(chunk)) rest.pause(); });
    rest.once('end', () => this.push(null));
    rest.once('error', (err) => this.destroy(err));
    this.once('close', () => rest.destroy());
    this._read = () => { rest.resume(); };
  }
}
