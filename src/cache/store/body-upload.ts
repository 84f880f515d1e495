/**
 * A body written into the store while it arrives, on the plain S3 commands. A body smaller than
 * one part (most misses) is one PutObject when it ends: a single request, none of it before the
 * body is whole. A larger one becomes a multipart upload with at most `queueSize` parts in
 * flight. Every byte it holds (the part being collected, full parts waiting, parts being sent)
 * is counted in `held`, so the caller can bound a fill's memory and give up on a store that
 * falls behind. abort() leaves no object and no open upload: it lets parts in flight and a
 * CreateMultipartUpload still running finish (cancelling a request the store may already have
 * acted on is how lib-storage leaked uploads), then aborts the upload they belong to.
 */
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand,
  type CompletedPart, type S3Client,
} from '@aws-sdk/client-s3';

export interface UploadTarget {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  /** Bytes per part (S3's minimum is 5 MiB, except the last). */
  readonly partSize: number;
  /** Parts sent at once. */
  readonly queueSize: number;
}

export class BodyUpload {
  /** Bytes held in memory: not yet acknowledged by the store. */
  held = 0;
  /** Why the store refused a part, once it did (the upload can then only be aborted). */
  failure: Error | null = null;
  private collected: Buffer[] = [];
  private collectedBytes = 0;
  private readonly waiting: Buffer[] = [];
  private readonly active = new Set<Promise<void>>();
  private readonly parts: CompletedPart[] = [];
  private uploadId: Promise<string> | null = null;
  private nextPart = 1;
  private stopped = false;
  private readonly target: UploadTarget;

  constructor(target: UploadTarget) {
    this.target = target;
  }

  /** Takes a chunk (kept, not copied); full parts go to the store as the queue allows. */
  write(chunk: Buffer): void {
    if (this.failure !== null || this.stopped) return;
    this.collected.push(chunk);
    this.collectedBytes += chunk.length;
    this.held += chunk.length;
    while (this.collectedBytes >= this.target.partSize) this.waiting.push(this.take(this.target.partSize));
    this.pump();
  }

  /** The body is whole: store it. Resolves with the stored object's ETag. */
  async end(): Promise<string> {
    if (this.uploadId === null && this.waiting.length === 0) return this.putWhole();
    if (this.collectedBytes > 0) this.waiting.push(this.take(this.collectedBytes));
    this.pump();
    while (this.active.size > 0) await Promise.race(this.active);
    if (this.failure !== null) throw this.failure;
    const UploadId = await this.uploadId!;
    const { client, bucket, key } = this.target;
    const parts = [...this.parts].sort((a, b) => a.PartNumber! - b.PartNumber!);
    const out = await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
    return etagOf(out.ETag, key);
  }

  /** Nothing is stored: parts in flight are cancelled and the multipart upload (if one was opened) aborted. */
  async abort(): Promise<void> {
    this.stopped = true;
    this.collected = [];
    this.waiting.length = 0;
    this.held = 0;
    while (this.active.size > 0) await Promise.race(this.active);
    const UploadId = await this.uploadId?.catch(() => undefined);
    if (UploadId === undefined) return;
    const { client, bucket, key } = this.target;
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }));
  }

  private async putWhole(): Promise<string> {
    const { client, bucket, key } = this.target;
    const body = this.take(this.collectedBytes);
    try {
      const out = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length }));
      return etagOf(out.ETag, key);
    } finally {
      this.release(body.length);
    }
  }

  /** The first `bytes` of what was collected, as one buffer. */
  private take(bytes: number): Buffer {
    const pieces: Buffer[] = [];
    let need = bytes;
    while (need > 0) {
      const first = this.collected[0]!;
      if (first.length <= need) {
        pieces.push(first);
        this.collected.shift();
        need -= first.length;
      } else {
        pieces.push(first.subarray(0, need));
        this.collected[0] = first.subarray(need);
        need = 0;
      }
    }
    this.collectedBytes -= bytes;
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, bytes);
  }

  private pump(): void {
    while (this.active.size < this.target.queueSize && this.waiting.length > 0 && this.failure === null && !this.stopped) {
      const sending = this.send(this.waiting.shift()!, this.nextPart++);
      this.active.add(sending);
      void sending.finally(() => {
        this.active.delete(sending);
        this.pump();
      });
    }
  }

  /** One part; never rejects (a failure is recorded and ends the upload's chances). */
  private async send(body: Buffer, PartNumber: number): Promise<void> {
    const { client, bucket, key } = this.target;
    try {
      this.uploadId ??= client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))
        .then((out) => out.UploadId ?? Promise.reject(new Error(`the store opened no upload for ${key}`)));
      const UploadId = await this.uploadId;
      const out = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body: body, ContentLength: body.length }));
      this.parts.push({ PartNumber, ETag: out.ETag });
    } catch (err) {
      this.failure ??= err as Error;
    } finally {
      this.release(body.length);
    }
  }

  private release(bytes: number): void {
    if (!this.stopped) this.held -= bytes;
  }
}

function etagOf(etag: string | undefined, key: string): string {
  if (etag === undefined) throw new Error(`the store returned no ETag for ${key}`);
  return etag;
}
