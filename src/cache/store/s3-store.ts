/**
 * The cache's S3 client: AWS SDK v3 (the only client the measurements found to abort cleanly on
 * every failure), path-style addressing and checksums only where required, so it works on Swift,
 * MinIO, Ceph and AWS alike. Loaded only when the cache is on.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import type tls from 'node:tls';
import {
  DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { BodyUpload } from './body-upload.js';

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


function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export class S3Store {
  readonly client: S3Client;
  readonly bucket: string;
  readonly partSize: number;
  readonly queueSize: number;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.partSize = options.partSize;
    this.queueSize = options.queueSize;
    const agentOptions = { keepAlive: true, maxSockets: 256 };
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      credentials: { accessKeyId: options.accessKey, secretAccessKey: options.secretKey },
      forcePathStyle: true,
      // Stores other than AWS reject or mangle the newer default checksums (s3-cache-facts.md §2).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
      requestHandler: {
        httpAgent: new http.Agent(agentOptions),
        httpsAgent: new https.Agent({ ...agentOptions, secureContext: options.secureContext, rejectUnauthorized: options.insecure !== true }),
        connectionTimeout: 5000,
        requestTimeout: 30_000,
      },
    });
  }

  /** HeadBucket: works on every S3 store (sidekick's /minio/health/ready only on MinIO). */
  async probe(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  /** A small object as text, or null when it does not exist. */
  async getText(key: string): Promise<string | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return out.Body === undefined ? '' : await out.Body.transformToString('utf8');
    } catch (err) {
      if (status(err) === 404) return null;
      throw err;
    }
  }

  async putText(key: string, text: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: text, ContentType: 'application/json' }));
  }

  /**
   * A stored body, only if it is still the one with `etag` (If-Match: a body replaced by another
   * sidecar since the metadata was read is never served with the wrong metadata). null when the
   * object is gone or changed.
   */
  async getBody(key: string, etag: string, range?: ByteRange): Promise<Readable | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({
        Bucket: this.bucket, Key: key, IfMatch: etag, Range: range === undefined ? undefined : `bytes=${range.start}-${range.end}`,
      }));
      return (out.Body as Readable | undefined) ?? null;
    } catch (err) {
      if (status(err) === 404 || status(err) === 412) return null;
      throw err;
    }
  }

  /** A body to write into `key` as it arrives (one PutObject below a part, else multipart). */
  upload(key: string): BodyUpload {
    return new BodyUpload({ client: this.client, bucket: this.bucket, key, partSize: this.partSize, queueSize: this.queueSize });
  }

  /** Every key under a prefix. */
  async *list(prefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const item of page.Contents ?? []) if (item.Key !== undefined) yield item.Key;
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /**
   * One DeleteObject per key, a few at a time: DeleteObjects needs Content-MD5 on some stores
   * (Swift) that the SDK no longer sends, and an entry is only a handful of objects.
   */
  async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 8) {
      await Promise.all(keys.slice(i, i + 8).map((Key) => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }))));
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
    this.client.destroy();
  }
}
