/**
 * A whole body opened by the lookup itself (the one GET of the entry's body object brings its
 * metadata and its bytes: store-read.ts). The hit path claims it in the same turn the lookup ends
 * (the continuations are microtasks, which run before setImmediate); one left unclaimed (a removal
 * that began meanwhile, a late answer) is released then.
 *
 * A stale entry's body of at most HOLD_MAX bytes is read whole instead (`hold`) while the backend
 * revalidates it, so its connection goes back to the pool at once and a 304 (or stale-if-error)
 * answer is made from those bytes, with no second GET. A larger one is released: holding its
 * stream open would keep a store connection (of a bounded pool) idle for the backend's round trip,
 * and reading it whole costs more than a new connection; the answer reads it again with If-Match.
 *
 * Releasing: a body of at most DRAIN_MAX bytes is read to its end and discarded, so its store
 * connection is reused; a larger one is destroyed (the connection is lost, not the bytes read).
 */
import { Readable } from 'node:stream';
import type { ByteRange } from './store/s3-store.js';

/** A stale entry's body up to this size is read whole while it is revalidated (memory per revalidation). */
export const HOLD_MAX = 1024 * 1024;
/** Bodies up to this size are drained rather than destroyed when released. */
export const DRAIN_MAX = 64 * 1024;

export class EarlyBody {
  private body: Readable | null;
  private whole: Promise<Buffer | null> | null = null;
  /** Bytes in the body. */
  private readonly size: number;
  /** The range of the entry's body it holds (a Range lookup's GET), undefined for all of it. */
  private readonly span: ByteRange | undefined;
  private readonly timer: NodeJS.Immediate;

  /** `size`: the entry's body length; `span`: the part of it `body` holds, if not all. */
  constructor(body: Readable, size: number, span?: ByteRange) {
    this.body = body;
    this.span = span;
    this.size = bytesOf(size, span);
    this.timer = setImmediate(() => this.drop());
  }

  /** Keeps a stale entry's body for its revalidation's answer (read whole when small enough, else released). */
  hold(): void {
    clearImmediate(this.timer);
    const body = this.body;
    this.body = null;
    if (body === null) return;
    if (this.size > HOLD_MAX || this.span !== undefined) return release(body, this.size);
    this.whole = readWhole(body, this.size);
  }

  /**
   * The body, once, when it holds `range` (undefined: all of it); null if it holds other bytes (it
   * is released then), was taken or dropped, or a held one could not be read whole.
   */
  async take(range?: ByteRange): Promise<Readable | null> {
    if (!this.spans(range)) {
      this.drop();
      return null;
    }
    clearImmediate(this.timer);
    const body = this.body;
    const whole = this.whole;
    this.body = null;
    this.whole = null;
    if (body !== null) return body;
    const bytes = whole === null ? null : await whole;
    return bytes === null ? null : Readable.from([bytes]);
  }

  /** It holds the range of a Range lookup's GET, which is `range`. */
  holdsRange(range: ByteRange | undefined): boolean {
    return this.body !== null && range !== undefined && this.spans(range);
  }

  private spans(range: ByteRange | undefined): boolean {
    return range?.start === this.span?.start && range?.end === this.span?.end;
  }

  /** Releases the body (held bytes are just forgotten). */
  drop(): void {
    clearImmediate(this.timer);
    if (this.body !== null) release(this.body, this.size);
    this.body = null;
    this.whole = null;
  }
}

/** Releases a store body of `size` bytes nobody will read: a small one is drained (its connection is reused), a larger one destroyed. */
export function release(body: Readable, size: number): void {
  if (body.destroyed) return;
  if (size > DRAIN_MAX) return void body.destroy();
  body.on('error', () => undefined);
  body.resume();
}

/** All of `body`, or null when the store breaks it or sends another length. */
async function readWhole(body: Readable, size: number): Promise<Buffer | null> {
  try {
    const bytes = Buffer.concat(await body.toArray() as Buffer[]);
    return bytes.length === size ? bytes : null;
  } catch {
    return null;
  }
}

/** The bytes a body of an object of `size` holds: all of them, or those of `span`. */
export function bytesOf(size: number, span: ByteRange | undefined): number {
  return span === undefined ? size : span.end - span.start + 1;
}
