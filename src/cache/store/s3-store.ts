/**
 * The cache's S3 client: the calls the cache makes (HeadBucket, GetObject with If-Match and Range,
 * PutObject, multipart upload, ListObjectsV2, DeleteObject), path-style, on our own signed
 * transport (s3-http.ts says why not the AWS SDK), so it works on Swift, MinIO, Ceph and AWS alike.
 * Loaded only when the cache is on.
 */
import type { Readable } from 'node:stream';
import type tls from 'node:tls';
import { BodyUpload } from './body-upload.js';
import { BodyPut, MAX_PUT, WHOLE_PUT_MAX, WholeBodyPut, type StoreWrite } from './body-put.js';
import { INLINE_BODY_MAX, SIDECAR_FIELDS, type InlineSource, type ObjectHead } from '../store-meta.js';
import { collect, rawGet, requestHead, type RawAnswer } from './body-get.js';
import { S3Http, errorOf } from './s3-http.js';
import { encodePath } from './sigv4.js';
import { StoreSockets } from './store-sockets.js';
import { xmlValue, xmlValues } from './s3-xml.js';

export interface S3StoreOptions {
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly bucket: string;
  readonly region: string;
  /** For https endpoints: the backend TLS options (--cacert, --client-cert, --insecure). */
  readonly secureContext?: tls.SecureContext | undefined;
  readonly insecure?: boolean;
  /** Multipart part size and parts in flight: a fill holds at most what the caller allows (Fill's maxBuffered). */
  readonly partSize: number;
  readonly queueSize: number;
}

/** A byte range of a stored body, both ends included (always absolute: stores disagree on suffix ranges). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export class S3Store {
  readonly http: S3Http;
  /** Connections for reading bodies (body-get.ts); every other call goes through `http`. */
  private readonly sockets: StoreSockets;
  readonly bucket: string;
  readonly partSize: number;
  readonly queueSize: number;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.partSize = options.partSize;
    this.queueSize = options.queueSize;
    this.http = new S3Http(options);
    const endpoint = new URL(options.endpoint);
    const secure = endpoint.protocol === 'https:';
    this.sockets = new StoreSockets({
      host: endpoint.hostname.replace(/^\[|\]$/g, ''), port: Number(endpoint.port || (secure ? 443 : 80)), secure,
      secureContext: options.secureContext, insecure: options.insecure,
    });
  }

  /** HeadBucket: works on every S3 store (sidekick's /minio/health/ready only on MinIO). */
  async probe(): Promise<void> {
    await this.http.send({ method: 'HEAD', bucket: this.bucket });
  }

  /** A small object as text, or null when it does not exist. */
  async getText(key: string): Promise<string | null> {
    // On a raw connection too: node's HTTP client cost about twice the CPU of the rest of such a call
    // (bench/store-calls.ts). A 500 or 503 is asked once more, as S3Http does.
    for (let attempt = 0; ; attempt++) {
      const answer = await this.get(key, {});
      if (answer.body !== null) return (await collect(answer.body)).toString('utf8');
      if (answer.status === 404) return null;
      if (attempt > 0 || (answer.status !== 500 && answer.status !== 503)) throw errorOf(answer.status, answer.text, `GET ${key}`);
    }
  }

  /** A small object; `fields`: its user metadata (x-amz-meta-*). */
  async putText(key: string, text: string, fields: Readonly<Record<string, string>> = {}): Promise<void> {
    await this.http.send({ method: 'PUT', bucket: this.bucket, key, headers: { ...fields, 'content-type': 'application/json' }, body: Buffer.from(text) });
  }

  /**
   * An object as a lookup reads it: its head (user metadata, size, ETag) and its body (or the
   * range `from` asks, absolute), already streaming; `span`: the bytes the body holds (undefined:
   * all). null when there is none; 'unsatisfiable' when the range starts past its end (a 416; an
   * empty object answers so too). No precondition: the head and the bytes come in one answer, so
   * they belong together.
   */
  async getObject(key: string, from?: LookupRange): Promise<LookupGet | null | 'unsatisfiable'> {
    const headers: Record<string, string> = from === undefined ? {} : { range: `bytes=${from.start}-${from.end ?? ''}` };
    const answer = await this.get(key, headers);
    if (answer.body === null) {
      if (answer.status === 404) return null;
      if (answer.status === 416 && from !== undefined) return 'unsatisfiable';
      throw errorOf(answer.status, answer.text, `GET ${key}`);
    }
    const got = lookupGet(answer, answer.headers.get('etag'), answer.body, from);
    if (got !== null) return got;
    answer.body.destroy();
    throw new Error(`the store answered GET ${key} ${headers.range ?? ''} without an ETag, a length or the range asked`);
  }

  /** An object's head (HeadObject: user metadata, size, ETag), or null when there is none. */
  async headObject(key: string): Promise<ObjectHead | null> {
    const out = await this.http.send({ method: 'HEAD', bucket: this.bucket, key }, [404]);
    if (out.status === 404) return null;
    const fields = new Map<string, string>();
    for (const [name, value] of Object.entries(out.headers)) if (typeof value === 'string') fields.set(name, value);
    const size = Number(fields.get('content-length'));
    const etag = fields.get('etag');
    if (etag === undefined || !Number.isSafeInteger(size)) throw new Error(`the store answered HEAD ${key} without an ETag or a length`);
    return { fields, size, etag };
  }

  /**
   * Replaces an object's user metadata by copying it onto itself (CopyObject, REPLACE), only
   * while it is still the object with `etag` (x-amz-copy-source-if-match: a body another writer
   * replaced meanwhile is not given this metadata). Resolves with the copy's ETag (on Swift and
   * S3 a plain object's copy keeps its MD5 ETag; the caller remembers whatever came back), or
   * null when the object is gone or changed (Swift also refuses a multipart object's "-N" ETag
   * here, measured: those keep the sidecar layout).
   */
  async copyFields(key: string, etag: string, fields: Readonly<Record<string, string>>): Promise<string | null> {
    const source = encodePath(this.bucket, key);
    const out = await this.http.send({
      method: 'PUT', bucket: this.bucket, key,
      headers: { ...fields, 'x-amz-copy-source': source, 'x-amz-metadata-directive': 'REPLACE', 'x-amz-copy-source-if-match': etag },
    }, [404, 412]);
    if (out.status !== 200) return null;
    const copied = xmlValue(out.text, 'ETag');
    if (copied === undefined) throw new Error(`the store answered the copy of ${key} without an ETag`);
    return copied.replace(/&quot;/g, '"');
  }

  /**
   * A stored body, only if it is still the one with `etag` (If-Match: a body replaced by another
   * sidecar since the metadata was read is never served with the wrong metadata). null when the
   * object is gone or changed.
   */
  async getBody(key: string, etag: string, range?: ByteRange, buffer = 0): Promise<Readable | null> {
    const headers: Record<string, string> = { 'if-match': etag };
    if (range !== undefined) headers.range = `bytes=${range.start}-${range.end}`;
    const found = await this.read(key, headers, buffer);
    if (found === null || range === undefined || rangeAnswered(found.answer, range)) return found?.body ?? null;
    found.body.destroy();
    throw new Error(`the store answered GET ${key} ${headers.range} with other bytes (${found.answer.status} ${found.answer.headers.get('content-range') ?? ''})`);
  }

  private get(key: string, headers: Record<string, string>, buffer = 0): Promise<RawAnswer> {
    const { target, headers: signed } = this.http.prepare({ method: 'GET', bucket: this.bucket, key, headers });
    return rawGet(this.sockets, requestHead('GET', target, signed), buffer);
  }

  private async read(key: string, headers: Record<string, string>, buffer = 0): Promise<{ etag: string | undefined; body: Readable; answer: RawAnswer } | null> {
    const answer = await this.get(key, headers, buffer);
    if (answer.body !== null) return { etag: answer.headers.get('etag'), body: answer.body, answer };
    if (answer.status === 404 || answer.status === 412) return null;
    throw errorOf(answer.status, answer.text, `GET ${key}`);
  }

  /**
   * A body to write into `key` as it arrives: of known length (`length` ≥ 0) up to
   * WHOLE_PUT_MAX, collected and sent whole at the end (one call, retried like any other); up to
   * 5 GiB, one streamed PutObject (a plain object); otherwise a multipart upload (or one PutObject at the
   * end for a body that stays below a part). `inline` makes the entry's metadata fields
   * (store-meta.ts) when the body's PutObject starts (not before: making them is not the
   * client's cost), written with the body when it is one PutObject of at most INLINE_BODY_MAX
   * bytes; otherwise (and when null, or when they do not fit) the object is marked as having
   * meta.json beside it. The write's `inline` says which, once it ended.
   */
  upload(key: string, length: number, inline: InlineSource | null = null): StoreWrite {
    const { http, bucket } = this;
    const none: InlineSource = () => null;
    if (length >= 0 && length <= WHOLE_PUT_MAX) return new WholeBodyPut({ http, bucket, key, length, fields: inline ?? none });
    if (length >= 0 && length <= MAX_PUT) return new BodyPut({ http, bucket, key, length, fields: length <= INLINE_BODY_MAX ? inline ?? none : none });
    return new BodyUpload({ http, bucket, key, partSize: this.partSize, queueSize: this.queueSize, inline: inline ?? none });
  }

  /** Every key under a prefix (ListObjectsV2, page by page; `pageSize` only for tests). */
  async *list(prefix: string, pageSize = 1000): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const query: Array<[string, string]> = [['list-type', '2'], ['prefix', prefix], ['max-keys', String(pageSize)]];
      if (token !== undefined) query.push(['continuation-token', token]);
      const page = (await this.http.send({ method: 'GET', bucket: this.bucket, query })).text;
      yield* xmlValues(page, 'Key');
      token = xmlValue(page, 'IsTruncated') === 'true' ? xmlValue(page, 'NextContinuationToken') : undefined;
    } while (token !== undefined);
  }

  /**
   * One DeleteObject per key, a few at a time: DeleteObjects needs Content-MD5 on some stores
   * (Swift), and an entry is only a handful of objects. A key already gone is not an error.
   */
  async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 8) {
      await Promise.all(keys.slice(i, i + 8).map((key) => this.http.send({ method: 'DELETE', bucket: this.bucket, key }, [404])));
    }
  }

  /** Deletes everything under a prefix; returns how many objects were deleted. */
  async deletePrefix(prefix: string): Promise<number> {
    const keys: string[] = [];
    for await (const key of this.list(prefix)) keys.push(key);
    if (keys.length > 0) await this.deleteKeys(keys);
    return keys.length;
  }

  destroy(): void {
    this.http.destroy();
    this.sockets.destroy();
  }
}

/**
 * The answer holds exactly the bytes of `range`: a 206 naming it, or a 200 of that length when it
 * starts at 0 (a store may answer a range covering the whole object with the object).
 */
/** A range a lookup asks with the body object itself: `end` undefined to the object's end. */
export interface LookupRange {
  readonly start: number;
  readonly end: number | undefined;
}

export interface LookupGet {
  readonly head: ObjectHead;
  readonly body: Readable;
  /** The bytes `body` holds, when a range of the object. */
  readonly span: ByteRange | undefined;
}

/** A lookup's GET as answered: the whole object (200) or the range asked (206, its size from Content-Range); null if neither. */
function lookupGet(answer: RawAnswer, etag: string | undefined, body: Readable, from: LookupRange | undefined): LookupGet | null {
  if (etag === undefined) return null;
  const length = Number(answer.headers.get('content-length'));
  if (answer.status === 200 && Number.isSafeInteger(length)) return { head: { fields: answer.headers, size: length, etag }, body, span: undefined };
  const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(answer.headers.get('content-range') ?? '');
  if (answer.status !== 206 || from === undefined || range === null) return null;
  const [start, end, size] = [Number(range[1]), Number(range[2]), Number(range[3])];
  if (start !== from.start || (from.end !== undefined && end > from.end) || length !== end - start + 1) return null;
  return { head: { fields: answer.headers, size, etag }, body, span: { start, end } };
}

function rangeAnswered(answer: RawAnswer, range: ByteRange): boolean {
  const length = range.end - range.start + 1;
  if (answer.status === 200) return range.start === 0 && Number(answer.headers.get('content-length')) === length;
  return answer.status === 206 && Number(answer.headers.get('content-length')) === length
    && (answer.headers.get('content-range') ?? '').startsWith(`bytes ${range.start}-${range.end}/`);
}
