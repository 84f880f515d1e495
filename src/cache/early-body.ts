/**
 * A whole body opened by the lookup itself (the one GET of the entry's body object brings its
 * metadata and its bytes: store-read.ts). The hit path claims it in the same turn the lookup ends
 * (the continuations are microtasks, which run before setImmediate); one left unclaimed (a stale
 * entry being revalidated, a removal that began meanwhile, a late answer) is destroyed then, so
 * no store body stays open across a revalidation: after a 304 the body is read again with If-Match.
 */
import type { Readable } from 'node:stream';

export class EarlyBody {
  private body: Readable | null;

  constructor(body: Readable) {
    this.body = body;
    setImmediate(() => this.drop());
  }

  /** The body, once (null if it was taken or dropped). */
  take(): Readable | null {
    const body = this.body;
    this.body = null;
    return body;
  }

  drop(): void {
    this.body?.destroy();
    this.body = null;
  }
}
