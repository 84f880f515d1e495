/**
 * One write of a response body into the store, fed chunk by chunk as the body passes to the
 * client (the chunks are the tap's copies, shared with the single-flight window, not copied
 * again). It completes only when the body ended cleanly with exactly the declared length (or,
 * without a declared length, at least the minimum size); anything else aborts the upload, so a
 * cut-short body never becomes a stored object. A store slower than the client
 * never slows the client: past `maxBuffered` bytes waiting for the store, the fill is abandoned.
 */
import type { StoreWrite } from './store/body-put.js';

export interface FillLimits {
  /** Content-Length of the response, or -1 when it has none (chunked). */
  readonly expected: number;
  /** With no declared length, a body below this is not kept. */
  readonly minSize: number;
  /** Bytes the fill may hold in memory waiting for the store (every byte: parts collected, queued, in flight) before it gives up. */
  readonly maxBuffered: number;
}

/** The reason of a fill given up because the store fell behind (counted apart in the metrics). */
export const STORE_TOO_SLOW = 'store too slow';

export type FillState = 'writing' | 'completing' | 'completed' | 'aborted';

export class Fill {
  state: FillState = 'writing';
  /** Why it was aborted, for logs and metrics. */
  reason = '';
  /** Resolves once an aborted upload has been cleaned up in the store (no object, no open upload). */
  cleanedUp: Promise<void> = Promise.resolve();
  /** Body bytes given to write(). */
  bytes = 0;
  private readonly upload: StoreWrite;
  private readonly limits: FillLimits;

  constructor(upload: StoreWrite, limits: FillLimits) {
    this.upload = upload;
    this.limits = limits;
  }

  /** Once finished: the entry's metadata rode in the stored object (store-meta.ts). */
  get inline(): boolean {
    return this.upload.inline;
  }

  /** Bytes held in memory, not yet taken by the store. */
  get buffered(): number {
    return this.upload.held;
  }

  /** The chunk (kept, not copied) goes to the store; a store too far behind abandons the fill. */
  write(chunk: Buffer): void {
    if (this.state !== 'writing') return;
    this.bytes += chunk.length;
    if (this.limits.expected >= 0 && this.bytes > this.limits.expected) return this.abort('body longer than its Content-Length');
    if (this.upload.failure !== null) return this.abort(`store error: ${this.upload.failure.message}`);
    this.upload.write(chunk);
    if (this.upload.held > this.limits.maxBuffered) this.abort(STORE_TOO_SLOW);
  }

  /** The body ended cleanly: store it if the length is right. Resolves with the stored ETag, or null. */
  async finish(): Promise<string | null> {
    if (this.state !== 'writing') {
      await this.cleanedUp;
      return null;
    }
    const wrong = this.wrongLength();
    if (wrong !== null) {
      this.abort(wrong);
      await this.cleanedUp;
      return null;
    }
    this.state = 'completing';
    try {
      const etag = await this.upload.end();
      this.state = 'completed';
      return etag;
    } catch (err) {
      this.state = 'writing';
      this.abort((err as Error).message);
      await this.cleanedUp;
      return null;
    }
  }

  private wrongLength(): string | null {
    const { expected, minSize } = this.limits;
    if (expected >= 0 && this.bytes !== expected) return `body ended at ${this.bytes} of ${expected} bytes`;
    if (expected < 0 && this.bytes < minSize) return `body of ${this.bytes} bytes is below the minimum size`;
    return null;
  }

  /** The body broke off (or the fill is not wanted): nothing is stored. */
  abort(reason: string): void {
    if (this.state !== 'writing') return;
    this.state = 'aborted';
    this.reason = reason;
    this.cleanedUp = this.upload.abort().catch(() => undefined);
  }
}
