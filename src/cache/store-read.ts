/**
 * The store's part of a lookup: ONE call for the body object of a URL (or of one of its
 * variants), whose own user metadata says what it is (store-meta.ts). A whole GET is a GET: a 404
 * is a miss, a 200 brings the metadata in its headers and the body already streaming, the pair
 * consistent by construction (one answer, one object). A Range of absolute bytes (`bytes=a-b`,
 * `bytes=a-`) is a GET of that range the same way: the object's size comes in its Content-Range
 * (a range past the end, or the empty object of a Vary index, answers 416: then a HEAD). Anything
 * else (a suffix range, If-Range, a HEAD, a conditional request) is a HEAD: the body is then read
 * with If-Match on the ETag it named (a suffix range needs the size first: stores disagree on them).
 *
 * A body object of the sidecar layout (metadata too large to inline, a large or multipart body,
 * or an object written before this layout) costs one more call, its meta.json, which is used only
 * when it names this very object (ETag and size, of the same answer that brought the bytes, or of
 * the HEAD whose ETag the body's GET then names in If-Match): a body replaced by another writer
 * between the two reads is a miss, never served with another response's metadata.
 */
import type { Readable } from 'node:stream';
import { isVaryIndex, parseStored, type Entry, type VaryIndex } from './entry.js';
import { BODY, META } from './key.js';
import { readInline, type ObjectHead } from './store-meta.js';
import { bytesOf, release } from './early-body.js';
import type { ByteRange, LookupRange, S3Store } from './store/s3-store.js';

export interface StoredRead {
  readonly stored: Entry | VaryIndex;
  /** An entry's body, streaming (from the lookup's GET); null after a HEAD, or for a Vary index. */
  readonly body: Readable | null;
  /** The bytes `body` holds when it is a range of the entry's body (undefined: all of it). */
  readonly span?: ByteRange;
}

/** How a lookup reads a body object: GET it whole, GET the range the request asks, or HEAD it. */
export type ReadKind = 'whole' | 'head' | LookupRange;

export class StoreReader {
  private readonly store: S3Store;
  private readonly call: <T>(work: () => Promise<T>) => Promise<T>;

  constructor(store: S3Store, call: <T>(work: () => Promise<T>) => Promise<T>) {
    this.store = store;
    this.call = call;
  }

  /** What the body object in `dir` holds, read as `kind` says; null when nothing usable. */
  async read(dir: string, kind: ReadKind): Promise<StoredRead | null> {
    const got = kind === 'head' ? 'unsatisfiable' : await this.call(() => this.store.getObject(dir + BODY, kind === 'whole' ? undefined : kind));
    if (got === 'unsatisfiable') {
      // A range past the end (or the empty object of a Vary index), or a HEAD asked: the head alone.
      const head = await this.call(() => this.store.headObject(dir + BODY));
      const stored = head === null ? null : await this.metadataOf(dir, head);
      return stored === null ? null : { stored, body: null };
    }
    if (got === null) return null;
    let stored: Entry | VaryIndex | null;
    try {
      stored = await this.metadataOf(dir, got.head);
    } catch (err) {
      got.body.destroy();
      throw err;
    }
    if (stored !== null && !isVaryIndex(stored)) return { stored, body: got.body, span: got.span };
    // A Vary index's empty body (drained: its connection is reused), or a body without usable metadata.
    release(got.body, bytesOf(got.head.size, got.span));
    return stored === null ? null : { stored, body: null };
  }

  /** The URL a URL directory's entry (or Vary index) answers, for a purge by URL prefix; null when none is readable. */
  async urlOf(dir: string): Promise<string | null> {
    const read = await this.read(dir, 'head');
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
