/**
 * One write of a response body into the store, fed chunk by chunk as the body passes to the
 * client. It completes only when the body ended cleanly with exactly the declared length (or,
 * without a declared length, at least the minimum size); anything else aborts the multipart
 * upload, so a cut-short body never becomes a stored object. A store slower than the client
 * never slows the client: past `maxBuffered` bytes waiting for the store, the fill is abandoned.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { PendingUpload } from './store/s3-store.js';

export interface FillLimits {
  /** Content-Length of the response, or -1 when it has none (chunked). */
  readonly expected: number;
  /** With no declared length, a body below this is not kept. */
  readonly minSize: number;
  /** Bytes allowed to wait for the store before the fill gives up. */
  readonly maxBuffered: number;
}

export type FillState = 'writing' | 'completing' | 'completed' | 'aborted';

/** Counts the bytes and refuses to end unless the count is right: the upload then aborts. */
class LengthGuard extends Transform {
  bytes = 0;
  private readonly limits: FillLimits;

  constructor(limits: FillLimits) {
    super({ highWaterMark: 64 * 1024 });
    this.limits = limits;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const { expected, minSize } = this.limits;
    if (expected >= 0 && this.bytes !== expected) callback(new Error(`body ended at ${this.bytes} of ${expected} bytes`));
    else if (expected < 0 && this.bytes < minSize) callback(new Error(`body of ${this.bytes} bytes is below the minimum size`));
    else callback();
  }
}

export class Fill {
  state: FillState = 'writing';
  /** Why it was aborted, for logs and metrics. */
  reason = '';
  /** Resolves once an aborted upload has been cleaned up in the store (no object, no open upload). */
  cleanedUp: Promise<void> = Promise.resolve();
  /** Bytes given to write(), whether or not the store has taken them yet. */
  private written = 0;
  private readonly guard: LengthGuard;
  private readonly upload: PendingUpload;
  private readonly limits: FillLimits;

  constructor(start: (source: Transform) => PendingUpload, limits: FillLimits) {
    this.limits = limits;
    this.guard = new LengthGuard(limits);
    this.upload = start(this.guard);
    // The outcome is read through finish(); this only keeps a failed upload from being "unhandled".
    this.upload.done.catch(() => undefined);
  }

  get bytes(): number {
    return this.guard.bytes;
  }

  /** Bytes written but not yet taken by the store. */
  get buffered(): number {
    return this.guard.writableLength;
  }

  /** Resolves when the store has caught up (for writers that can wait, such as tests and revalidations). */
  drained(): Promise<void> {
    if (this.guard.writableLength === 0 || this.state !== 'writing') return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.guard.off('drain', done);
        this.guard.off('close', done);
        resolve();
      };
      this.guard.on('drain', done);
      this.guard.on('close', done);
    });
  }

  /** A copy of the chunk goes to the store; a store too far behind abandons the fill. */
  write(chunk: Buffer): void {
    if (this.state !== 'writing') return;
    this.written += chunk.length;
    if (this.limits.expected >= 0 && this.written > this.limits.expected) {
      this.abort('body longer than its Content-Length');
      return;
    }
    this.guard.write(chunk);
    if (this.guard.writableLength > this.limits.maxBuffered) this.abort('store too slow');
  }

  /** The body ended cleanly: complete the upload if the length is right. Resolves with the stored ETag, or null. */
  async finish(): Promise<string | null> {
    if (this.state !== 'writing') return null;
    this.state = 'completing';
    this.guard.end();
    try {
      const etag = await this.upload.done;
      this.state = 'completed';
      return etag;
    } catch (err) {
      this.state = 'aborted';
      this.reason = (err as Error).message;
      this.cleanedUp = this.upload.abort().catch(() => undefined);
      await this.cleanedUp;
      return null;
    }
  }

  /** The body broke off (or the fill is not wanted): nothing is stored. */
  abort(reason: string): void {
    if (this.state === 'completed' || this.state === 'aborted') return;
    this.state = 'aborted';
    this.reason = reason;
    this.guard.destroy(new Error(reason));
    this.cleanedUp = this.upload.abort().catch(() => undefined);
  }
}
