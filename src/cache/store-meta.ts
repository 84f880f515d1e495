/**
 * An entry's metadata carried by its body object itself, as S3 user metadata (`x-amz-meta-*`),
 * so a fill is one object written by one call, and a lookup one GET (or HEAD) of it: an S3
 * object's metadata and bytes are replaced together, so what one answer carries belongs together
 * by construction. The body object says which layout it has in `x-amz-meta-ocf`:
 *
 *   e  an entry: its JSON (without size and ETag, the object's own) in `x-amz-meta-oc0..N`
 *   v  the Vary index of a URL (an empty object at the URL's `body` key), the same way
 *   s  "sidecar": the metadata did not fit (or the body may not be copied onto itself: see
 *      INLINE_BODY_MAX); `meta.json` beside the object holds it, naming the body's ETag, and a
 *      reader pairs the two as before. A body object without `ocf` is one of the layout before
 *      this one (meta.json beside it): read the same way.
 *
 * Limits: AWS allows 2 KB of user metadata per object (names and values, UTF-8); Swift 256 B
 * per value, 90 items, 4096 B in all (a 257 B value or 16 × 256 B made Swift's s3api answer 500,
 * measured). So the JSON is deflated and base64url'd (headers must be ASCII: any non-ASCII byte
 * of a stored field survives inside the base64), cut into values of at most 256 characters, and
 * at most INLINE_MAX of it is inlined: 6 × 256 + 7 names of 3 + `ocf` ≈ 1.6 KB, under both limits.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { storedOf, type Entry, type VaryIndex } from './entry.js';

export const FORM = 'x-amz-meta-ocf';
/**
 * A small window and hash table: the JSON is a few hundred bytes, and zlib's defaults (a 32 KiB
 * window, 128 KiB of hash chains) made allocating and clearing its state most of the cost (30 µs
 * against 11 µs here, warm). A reader inflates any window size up to the default.
 */
const DEFLATE_OPTIONS = { windowBits: 12, memLevel: 3 };
const PIECE = 'x-amz-meta-oc';
/** Characters per metadata value (Swift's limit per value). */
const PIECE_MAX = 256;
/** Encoded characters inlined at most (see above). */
const INLINE_MAX = 6 * PIECE_MAX;
/** Inflated metadata larger than this is refused (a tampered object must not cost memory). */
const INFLATED_MAX = 256 * 1024;

/**
 * Known bodies larger than this keep the sidecar layout: a 304's refresh of inline metadata
 * copies the object onto itself (CopyObject, REPLACE), which makes the store copy every byte
 * (Swift's proxy reads and writes them). Measured on the test Swift (in process, 3 runs of 3
 * rounds): the copy took 18–32 ms for 1 MiB, 52–80 ms for 8 MiB, 88–113 ms for 16 MiB, 307–491 ms
 * for 64 MiB (Swift's CPU about the same; about twice a whole GET of the body), against 6–20 ms for
 * the sidecar layout's extra PUT of meta.json (on a fill, and instead of the copy on a 304) and
 * 3–9 ms for its GET (a process's first store hit of the entry; larger bodies' metadata is then
 * remembered, recall.ts). Up to 8 MiB a 304's
 * copy costs about what the sidecar layout costs an entry in calls; beyond it the copy grows with
 * the body while those calls do not. (8 MiB is also a fill's part size: larger bodies stream.)
 */
export const INLINE_BODY_MAX = 8 * 1024 * 1024;

/** The fields of a body object whose metadata is in meta.json beside it. */
export const SIDECAR_FIELDS: Readonly<Record<string, string>> = { [FORM]: 's' };

/** What a fill knows of its entry before the body: all but its size and ETag (the object's own). */
export type EntryHead = Omit<Entry, 'size' | 'bodyEtag' | 'inline'>;

/** The user metadata fields of a body object, made when its write starts; null: the sidecar layout. */
export type InlineSource = () => Readonly<Record<string, string>> | null;

/** The user metadata fields carrying `stored`, or null when it does not fit (the sidecar layout then). */
export function inlineFields(stored: EntryHead | VaryIndex): Record<string, string> | null {
  const { v, url } = stored;
  const plain = 'varyIndex' in stored ? { v, url, varyIndex: stored.varyIndex }
    : { v, url, status: stored.status, headers: stored.headers, vary: stored.vary, policy: stored.policy };
  const encoded = deflateRawSync(JSON.stringify(plain), DEFLATE_OPTIONS).toString('base64url');
  if (encoded.length > INLINE_MAX) return null;
  const fields: Record<string, string> = { [FORM]: 'varyIndex' in stored ? 'v' : 'e' };
  for (let i = 0; i * PIECE_MAX < encoded.length; i++) fields[`${PIECE}${i}`] = encoded.slice(i * PIECE_MAX, (i + 1) * PIECE_MAX);
  return fields;
}

/** A body object as a lookup sees it: its headers (names in lower case), size and ETag. */
export interface ObjectHead {
  readonly fields: ReadonlyMap<string, string>;
  readonly size: number;
  readonly etag: string;
}

/**
 * What a body object's fields say: its entry or the URL's Vary index; 'sidecar' when meta.json
 * beside it holds them; null when they are malformed (treated as a miss, like a bad meta.json).
 */
export function readInline(object: ObjectHead): Entry | VaryIndex | 'sidecar' | null {
  const form = object.fields.get(FORM);
  if (form === undefined || form === 's') return 'sidecar';
  if (form !== 'e' && form !== 'v') return null;
  let encoded = '';
  for (let i = 0; ; i++) {
    const piece = object.fields.get(`${PIECE}${i}`);
    if (piece === undefined) break;
    encoded += piece;
  }
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(inflateRawSync(Buffer.from(encoded, 'base64url'), { maxOutputLength: INFLATED_MAX }).toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  if (form === 'v') return 'varyIndex' in value ? storedOf(value) : null;
  const stored = storedOf({ ...value, size: object.size, bodyEtag: object.etag });
  return stored === null || 'varyIndex' in stored ? null : { ...stored, inline: true };
}
