/**
 * The store's part of a lookup: ONE call for the body object of a URL (or of one of its
 * variants), whose own user metadata says what it is (store-meta.ts). A whole GET is a GET: a 404
 * is a miss, a 200 brings the metadata in its headers and the body already streaming, the pair
 * consistent by construction (one answer, one object). Anything else (a Range, a HEAD, a
 * revalidation's lookup) is a HEAD: the body is then read with If-Match on the ETag it named
 * (absolute ranges need the size first: stores disagree on suffix ranges).
 *
 * A body object of the sidecar layout (metadata too large to inline, a large or multipart body,
 * or an object written before this layout) costs one more call, its meta.json, which is used only
 * when it names this very object (ETag and size): a body replaced by another writer between the
 * two reads is a miss, never served with another response's metadata.
 */
import type { Readable } from 'node:stream';
import { isVaryIndex, parseStored, type Entry, type VaryIndex } from './entry.js';
import { BODY, META } from './key.js';
import { readInline, type ObjectHead } from './store-meta.js';
import type { S3Store } from './store/s3-store.js';

export interface StoredRead {
  readonly stored: Entry | VaryIndex;
  /** An entry's body, streaming (from the lookup's GET); null after a HEAD, or for a Vary index. */
  readonly body: Readable | null;
}

export class StoreReader {
  private readonly store: S3Store;
  private readonly call: <T>(work: () => Promise<T>) => Promise<T>;

  constructor(store: S3Store, call: <T>(work: () => Promise<T>) => Promise<T>) {
    this.store = store;
    this.call = call;
  }

  /** What the body object in `dir` holds (GET when `whole`, else HEAD); null when nothing usable. */
  async read(dir: string, whole: boolean): Promise<StoredRead | null> {
    if (!whole) {
      const head = await this.call(() => this.store.headObject(dir + BODY));
      const stored = head === null ? null : await this.metadataOf(dir, head);
      return stored === null ? null : { stored, body: null };
    }
    const got = await this.call(() => this.store.getObject(dir + BODY));
    if (got === null) return null;
    let stored: Entry | VaryIndex | null;
    try {
      stored = await this.metadataOf(dir, got.head);
    } catch (err) {
      got.body.destroy();
      throw err;
    }
    if (stored !== null && !isVaryIndex(stored)) return { stored, body: got.body };
    got.body.destroy(); // a Vary index's empty body, or a body without usable metadata
    return stored === null ? null : { stored, body: null };
  }

  /** The URL a URL directory's entry (or Vary index) answers, for a purge by URL prefix; null when none is readable. */
  async urlOf(dir: string): Promise<string | null> {
    const read = await this.read(dir, false);
    if (read !== null) return read.stored.url;
    // A Vary index of the layout before this one: meta.json without a body object.
    const text = await this.call(() => this.store.getText(dir + META));
    return text === null ? null : parseStored(text)?.url ?? null;
  }

  /** The object's own metadata, or that of meta.json beside it when that names this very object. */
  private async metadataOf(dir: string, head: ObjectHead): Promise<Entry | VaryIndex | null> {
    const inline = readInline(head);
    if (inline !== 'sidecar') return inline;
    const text = await this.call(() => this.store.getText(dir + META));
    const stored = text === null ? null : parseStored(text);
    if (stored === null) return null;
    // A Vary index sits beside the empty object that stands for it; beside a body, it is left from before that body.
    if (isVaryIndex(stored)) return head.size === 0 ? stored : null;
    return stored.bodyEtag === head.etag && stored.size === head.size ? stored : null;
  }
}
