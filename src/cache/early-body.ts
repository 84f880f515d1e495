/**
 * A whole body read beside its metadata: for the first hit of an entry this process knew (its URL
 * has no Vary) but whose metadata neither tier remembers (a small entry the memory tier evicted,
 * say), one store round trip instead of two. It belongs to the entry only when the ETag the store
 * sent with it is the entry's bodyEtag, the pairing If-Match gives otherwise. The hit path claims
 * it in the same turn the lookup ends (the continuations are microtasks, which run before
 * setImmediate); one left unclaimed (a revalidation, a HEAD, a range) is destroyed then.
 */
import type { Readable } from 'node:stream';

export class EarlyBody {
  private body: Readable | null;

  private constructor(body: Readable) {
    this.body = body;
    setImmediate(() => this.drop());
  }

  /** The body, if it is the one `etag` names; otherwise it is destroyed. */
  static paired(read: { etag: string; body: Readable } | null, etag: string): EarlyBody | undefined {
    if (read === null) return undefined;
    if (read.etag === etag) return new EarlyBody(read.body);
    read.body.destroy();
    return undefined;
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

/** Destroys the body of a read nobody will pair (the metadata was missing, varied, or failed). */
export function dropRead(read: Promise<{ body: Readable } | null> | null): void {
  void read?.then((r) => r?.body.destroy());
}
