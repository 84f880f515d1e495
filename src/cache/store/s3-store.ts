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
  AbortMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, ListMultipartUploadsCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

export interface S3StoreOptions {
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly bucket: string;
  readonly region: string;
  /** For https endpoints: the backend TLS options (--cacert, --client-cert, --insecure). */
  readonly secureContext?: tls.SecureContext | undefined;
  readonly insecure?: boolean;
  /** Multipart part size and parts in flight: memory per fill is about partSize × (queueSize + 1). */
  readonly partSize?: number;
  readonly queueSize?: number;
}

/** A byte range of a stored body, both ends included (always absolute: stores disagree on suffix ranges). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** An upload in progress: `done` gives the stored body's ETag; `abort` leaves no object and no open upload. */
export interface PendingUpload {
  readonly done: Promise<string>;
  abort(): Promise<void>;
}

const MiB = 1024 * 1024;

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export class S3Store {
  readonly client: S3Client;
  readonly bucket: string;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.partSize = options.partSize ?? 8 * MiB;
    this.queueSize = options.queueSize ?? 2;
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

  /**
   * Streams `source` into `key` (multipart above one part). The upload completes only if the
   * source ends cleanly; a source that errors aborts it, and lib-storage then aborts the
   * multipart upload, leaving nothing behind.
   */
  upload(key: string, source: Readable): PendingUpload {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: source },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    const done = upload.done().then((out) => {
      if (out.ETag === undefined) throw new Error(`the store returned no ETag for ${key}`);
      return out.ETag;
    });
    const abort = async (): Promise<void> => {
      await upload.abort();
      await done.catch(() => undefined);
      // An abort during CreateMultipartUpload: lib-storage (pinned version) drops that call's id; wait for it and abort that upload.
      const creating = (upload as unknown as { createMultiPartPromise?: Promise<{ UploadId?: string }> }).createMultiPartPromise;
      const UploadId = (await creating?.catch(() => undefined))?.UploadId;
      if (UploadId !== undefined) await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId })).catch(() => undefined);
      await this.abortLeftovers(key);
    };
    return { done, abort };
  }

  /**
   * An abort that lands while CreateMultipartUpload is in flight leaves lib-storage without the
   * upload's id, and the store keeps the upload open: list this key's open uploads and abort them.
   * (A concurrent fill of the same key by another sidecar loses its upload too: never a wrong byte.)
   */
  private async abortLeftovers(key: string): Promise<void> {
    const open = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: key }));
    await Promise.all((open.Uploads ?? []).filter((u) => u.Key === key && u.UploadId !== undefined).map((u) =>
      this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: u.UploadId })).catch(() => undefined)));
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
