/**
 * A body of known length written into the store as ONE PutObject sent while the body arrives
 * (Content-Length declared, UNSIGNED-PAYLOAD): the store keeps a plain object, which it reads
 * back faster than a multipart one (Swift keeps those as a manifest and segments: ~0.66× the read
 * throughput, measured). Nothing waits for the body to be whole, and nothing is kept but what the
 * connection has not taken yet (`held`).
 *
 * No object is created unless every declared byte reached the store: abort() destroys the
 * connection mid-body, and an S3 store stores nothing from a PUT cut short of its Content-Length.
 * A store that refuses the PUT (its answer may come while the body is still being sent) sets
 * `failure`; the caller then aborts. A streamed body cannot be sent twice: a connection that
 * fails costs the fill, never a wrong byte (s3-http.ts keeps such connections fresh).
 *
 * A small body (up to WHOLE_PUT_MAX) is written whole instead (WholeBodyPut): its writer gives it
 * all at once after it passed to the client (fill-tap.ts), so it is sent as one ordinary call,
 * which is retried once when it fails before an answer or with a 500/503, like any other call.
 */
import type http from 'node:http';
import { SIDECAR_FIELDS, type InlineSource } from '../store-meta.js';
import type { S3Answer, S3Http } from './s3-http.js';

/** A body on its way into the store: BodyPut (known length) or BodyUpload (multipart). */
export interface StoreWrite {
  /** Bytes held in memory: written, not yet taken by the store (or its connection). */
  readonly held: number;
  /** Why the store refused the body, once it did (the write can then only be aborted). */
  readonly failure: Error | null;
  /** Once ended: the object carries the entry's metadata itself (store-meta.ts), not meta.json beside it. */
  readonly inline: boolean;
  /** Takes a chunk (kept, not copied). */
  write(chunk: Buffer): void;
  /** The body is whole: resolves with the stored object's ETag. */
  end(): Promise<string>;
  /** Nothing is stored; resolves once the store has been left with no trace of it. */
  abort(): Promise<void>;
}

/** Bodies of known length up to this are collected and sent whole, at end() (WholeBodyPut). */
export const WHOLE_PUT_MAX = 2 * 1024 * 1024;

/** The largest object one PutObject may create (S3's limit; Swift's default max_file_size too). */
export const MAX_PUT = 5 * 1024 * 1024 * 1024;

export interface PutTarget {
  readonly http: S3Http;
  readonly bucket: string;
  readonly key: string;
  /** The body's length, declared before its first byte. */
  readonly length: number;
  /** The entry's metadata fields written with the body, made when the PUT starts; null: meta.json beside it (store-meta.ts). */
  readonly fields: InlineSource;
}

export class BodyPut implements StoreWrite {
  failure: Error | null = null;
  private request: http.ClientRequest | null = null;
  private answer: Promise<S3Answer> | null = null;
  private stopped = false;
  private readonly target: PutTarget;
  /** Set when the PUT starts: it carries the entry's metadata (else SIDECAR_FIELDS). */
  inline = false;

  constructor(target: PutTarget) {
    this.target = target;
  }

  get held(): number {
    // The request's own buffer and its socket's: what the kernel has not taken yet.
    return this.stopped || this.request === null ? 0 : this.request.writableLength;
  }

  write(chunk: Buffer): void {
    if (this.failure !== null || this.stopped) return;
    this.open().write(chunk);
  }

  async end(): Promise<string> {
    if (this.failure !== null) throw this.failure;
    const request = this.open();
    request.end();
    return etagOf((await this.answer!).headers.etag, this.target.key);
  }

  async abort(): Promise<void> {
    this.stopped = true;
    this.request?.destroy();
    await this.answer?.catch(() => undefined);
  }

  /** The PUT, started with the first byte (a fill given up before it costs the store nothing). */
  private open(): http.ClientRequest {
    if (this.request !== null) return this.request;
    const { http, bucket, key, length, fields } = this.target;
    const inline = fields();
    this.inline = inline !== null;
    const { request, answer } = http.streamed({ method: 'PUT', bucket, key, headers: inline ?? SIDECAR_FIELDS, streamedLength: length });
    this.request = request;
    this.answer = answer;
    answer.catch((err: Error) => {
      this.failure ??= err;
    });
    return request;
  }
}

/** A small body collected until end(), then sent as one PutObject call (retried once by S3Http.send). */
export class WholeBodyPut implements StoreWrite {
  readonly failure: Error | null = null;
  inline = false;
  held = 0;
  private pieces: Buffer[] = [];
  private readonly target: PutTarget;

  constructor(target: PutTarget) {
    this.target = target;
  }

  write(chunk: Buffer): void {
    this.pieces.push(chunk);
    this.held += chunk.length;
  }

  async end(): Promise<string> {
    const { http, bucket, key, fields } = this.target;
    const body = this.pieces;
    this.pieces = [];
    try {
      const put = await putWhole(http, bucket, key, body, fields);
      this.inline = put.inline;
      return put.etag;
    } finally {
      this.held = 0;
    }
  }

  /** Nothing was sent yet (abort comes before end): there is nothing to undo in the store. */
  async abort(): Promise<void> {
    this.pieces = [];
    this.held = 0;
  }
}

/**
 * One PutObject of a whole body (its pieces sent as they are), with the entry's metadata when
 * `fields` gives it (else marked as having meta.json beside it): the stored ETag, and whether the
 * metadata rode along. An ordinary call: S3Http.send retries it once.
 */
export async function putWhole(http: S3Http, bucket: string, key: string, body: readonly Buffer[], fields: InlineSource): Promise<{ etag: string; inline: boolean }> {
  const inline = fields();
  const out = await http.send({ method: 'PUT', bucket, key, body, headers: inline ?? SIDECAR_FIELDS });
  return { etag: etagOf(out.headers.etag, key), inline: inline !== null };
}

/** The ETag a store answered with (a header, or a value read from XML); none is an error. */
export function etagOf(value: string | string[] | undefined, key: string): string {
  const etag = Array.isArray(value) ? value[0] : value;
  if (etag === undefined) throw new Error(`the store returned no ETag for ${key}`);
  return etag;
}
