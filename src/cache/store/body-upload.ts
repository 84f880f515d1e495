/**
 * A body of unknown length (or over 5 GiB) written into the store while it arrives, on the plain
 * S3 calls (a known length up to 5 GiB is one streamed PutObject: body-put.ts). A body smaller than
 * one part (most misses) is one PutObject when it ends: a single request, none of it before the
 * body is whole. A larger one becomes a multipart upload with at most `queueSize` parts in
 * flight. Every byte it holds (the part being collected, full parts waiting, parts being sent)
 * is counted in `held`, so the caller can bound a fill's memory and give up on a store that
 * falls behind. The entry's metadata rides in the object (store-meta.ts) only when it is one
 * PutObject: a multipart object keeps meta.json beside it (marked so at CreateMultipartUpload),
 * because its 304 refresh could not be a copy onto itself (Swift refuses a "-N" ETag as the
 * copy's If-Match, measured; S3 copies at most 5 GiB in one call). abort() leaves no object and no open upload: it lets parts in flight and a
 * CreateMultipartUpload still running finish (cancelling a request the store may already have
 * acted on is how lib-storage leaked uploads), then aborts the upload they belong to.
 */
import type { S3Http } from './s3-http.js';
import { xmlEscape, xmlValue } from './s3-xml.js';
import { etagOf, putWhole, type StoreWrite } from './body-put.js';
import { SIDECAR_FIELDS, type InlineSource } from '../store-meta.js';

export interface UploadTarget {
  readonly http: S3Http;
  readonly bucket: string;
  readonly key: string;
  /** Bytes per part (S3's minimum is 5 MiB, except the last). */
  readonly partSize: number;
  /** Parts sent at once. */
  readonly queueSize: number;
  /** The entry's metadata fields, for a body that ends up one PutObject; null: meta.json beside it. */
  readonly inline: InlineSource;
}

export class BodyUpload implements StoreWrite {
  /** Bytes held in memory: not yet acknowledged by the store. */
  held = 0;
  /** Why the store refused a part, once it did (the upload can then only be aborted). */
  failure: Error | null = null;
  private collected: Buffer[] = [];
  private collectedBytes = 0;
  /** Whole parts waiting for the queue, each as the pieces it was written in. */
  private readonly waiting: Buffer[][] = [];
  private readonly active = new Set<Promise<void>>();
  /** ETag of each part sent, by part number. */
  private readonly parts = new Map<number, string>();
  private uploadId: Promise<string> | null = null;
  private nextPart = 1;
  private stopped = false;
  /** Set when the body ended as one PutObject with the entry's metadata. */
  inline = false;
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
    const uploadId = await this.uploadId!;
    const { http, bucket, key } = this.target;
    const parts = [...this.parts].sort((a, b) => a[0] - b[0])
      .map(([n, etag]) => `<Part><PartNumber>${n}</PartNumber><ETag>${xmlEscape(etag)}</ETag></Part>`).join('');
    const out = await http.send({
      method: 'POST', bucket, key, query: [['uploadId', uploadId]],
      body: Buffer.from(`<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`), headers: { 'content-type': 'application/xml' },
    });
    return etagOf(xmlValue(out.text, 'ETag'), key);
  }

  /** Nothing is stored: parts in flight are cancelled and the multipart upload (if one was opened) aborted. */
  async abort(): Promise<void> {
    this.stopped = true;
    this.collected = [];
    this.waiting.length = 0;
    this.held = 0;
    while (this.active.size > 0) await Promise.race(this.active);
    const uploadId = await this.uploadId?.catch(() => undefined);
    if (uploadId === undefined) return;
    const { http, bucket, key } = this.target;
    await http.send({ method: 'DELETE', bucket, key, query: [['uploadId', uploadId]] }, [404]);
  }

  private async putWhole(): Promise<string> {
    const { http, bucket, key, inline } = this.target;
    const body = this.take(this.collectedBytes);
    try {
      const put = await putWhole(http, bucket, key, body, inline);
      this.inline = put.inline;
      return put.etag;
    } finally {
      this.release(byteLength(body));
    }
  }

  /** The first `bytes` of what was collected, in the pieces it was written in (sent as they are: no copy). */
  private take(bytes: number): Buffer[] {
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
    return pieces;
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
  private async send(body: Buffer[], part: number): Promise<void> {
    const { http, bucket, key } = this.target;
    try {
      this.uploadId ??= http.send({ method: 'POST', bucket, key, query: [['uploads', '']], headers: SIDECAR_FIELDS })
        .then((out) => xmlValue(out.text, 'UploadId') ?? Promise.reject(new Error(`the store opened no upload for ${key}`)));
      const uploadId = await this.uploadId;
      const out = await http.send({ method: 'PUT', bucket, key, query: [['partNumber', String(part)], ['uploadId', uploadId]], body });
      this.parts.set(part, etagOf(out.headers.etag, key));
    } catch (err) {
      this.failure ??= err as Error;
    } finally {
      this.release(byteLength(body));
    }
  }

  private release(bytes: number): void {
    if (!this.stopped) this.held -= bytes;
  }
}

function byteLength(pieces: readonly Buffer[]): number {
  let bytes = 0;
  for (const piece of pieces) bytes += piece.length;
  return bytes;
}

