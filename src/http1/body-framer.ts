/**
 * Body framers tell the engine how many bytes of each received buffer belong to the current
 * message, without copying or re-framing them: the engine relays exactly those bytes.
 */
import type { Http1Error } from './errors.js';

export interface BodyFramer {
  /**
   * Accounts for buf[start, end). Returns how many of those bytes (from start) belong to the
   * message, or -1 when the body is malformed (see error). Bytes past the returned count, once
   * done, are the next message or garbage.
   */
  feed(buf: Uint8Array, start?: number, end?: number): number;
  /** The whole body has been seen. */
  readonly done: boolean;
  readonly error: Http1Error | null;
}

/** Content-Length framing: counts down. */
export class FixedLengthBody implements BodyFramer {
  remaining: number;
  readonly error: Http1Error | null = null;

  constructor(length: number) {
    this.remaining = length;
  }

  /** Reuses the counter for the next message. */
  reset(length: number): void {
    this.remaining = length;
  }

  feed(buf: Uint8Array, start = 0, end = buf.length): number {
    const n = end - start < this.remaining ? end - start : this.remaining;
    this.remaining -= n;
    return n;
  }

  get done(): boolean {
    return this.remaining === 0;
  }
}

/** Read-until-close framing (responses only): every byte belongs to the body, it never ends by itself. */
export class CloseDelimitedBody implements BodyFramer {
  readonly error: Http1Error | null = null;
  readonly done = false;

  feed(buf: Uint8Array, start = 0, end = buf.length): number {
    return end - start;
  }
}
