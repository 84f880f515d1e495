/**
 * The cache's S3 client: the calls the cache makes (HeadBucket, GetObject with If-Match and Range,
 * PutObject, multipart upload, ListObjectsV2, DeleteObject), path-style, on our own signed
 * transport (s3-http.ts says why not the AWS SDK), so it works on Swift, MinIO, Ceph and AWS alike.
 * Loaded only when the cache is on.
 */
import type { Readable } from 'node:stream';
import type tls from 'node:tls';
import { BodyUpload } from './body-upload.js';
import { BodyPut, MAX_PUT, type StoreWrite } from './body-put.js';
import { collect, rawGet, requestHead, type RawAnswer } from './body-get.js';
import { S3Http, errorOf } from './s3-http.js';
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

  async putText(key: string, text: string): Promise<void> {
    await this.http.send({ method: 'PUT', bucket: this.bucket, key, headers: { 'content-type': 'application/json' }, body: Buffer.from(text) });
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

  /**
   * A whole stored body and the ETag the store sent with it, or null when there is none. No
   * If-Match: the caller pairs the ETag with metadata it reads at the same time.
   */
  async getWhole(key: string): Promise<{ etag: string; body: Readable } | null> {
    const found = await this.read(key, {});
    if (found === null) return null;
    if (found.etag !== undefined) return { etag: found.etag, body: found.body };
    found.body.destroy();
    return null;
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
   * A body to write into `key` as it arrives: of known length (`length` ≥ 0) up to 5 GiB, one
   * streamed PutObject (a plain object); otherwise a multipart upload (or one PutObject at the
   * end for a body that stays below a part).
   */
  upload(key: string, length: number): StoreWrite {
    if (length >= 0 && length <= MAX_PUT) return new BodyPut({ http: this.http, bucket: this.bucket, key, length });
    return new BodyUpload({ http: this.http, bucket: this.bucket, key, partSize: this.partSize, queueSize: this.queueSize });
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
function rangeAnswered(answer: RawAnswer, range: ByteRange): boolean {
  const length = range.end - range.start + 1;
  if (answer.status === 200) return range.start === 0 && Number(answer.headers.get('content-length')) === length;
  return answer.status === 206 && Number(answer.headers.get('content-length')) === length
    && (answer.headers.get('content-range') ?? '').startsWith(`bytes ${range.start}-${range.end}/`);
}
