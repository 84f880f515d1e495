/**
 * AWS Signature Version 4 for S3 requests in the Authorization header, on node:crypto. The
 * signing key depends only on the day, region and service, so it is derived once a day instead of
 * four HMACs per request. Only what the cache's store client sends is covered: path-style URLs,
 * a few query parameters, headers signed as given.
 */
import { createHash, createHmac } from 'node:crypto';

/** The SHA-256 of an empty body, the payload hash of every GET, HEAD and DELETE. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** The payload hash that signs the headers but not the body (S3 accepts it; see s3-store.ts). */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export interface SigningCredentials {
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
}

/** What is signed: the method, the encoded path, the query and the headers (names lower case). */
export interface SignedRequest {
  readonly method: string;
  /** Already URI-encoded (encodePath). */
  readonly path: string;
  readonly query: ReadonlyArray<readonly [string, string]>;
  /** Every header to sign, `host`, `x-amz-date` and `x-amz-content-sha256` among them. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * RFC 3986 percent-encoding as SigV4 wants it: unreserved characters kept, every other UTF-8
 * byte as %XX in upper case ('/' too, unless it is a path separator: see encodePath).
 * encodeURIComponent keeps !'()* and those must be encoded here.
 */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A path-style object path: each segment encoded, '/' kept (S3 encodes object keys only once). */
export function encodePath(bucket: string, key?: string): string {
  const path = key === undefined ? `/${bucket}` : `/${bucket}/${key}`;
  return path.split('/').map(uriEncode).join('/');
}

/** The query string, in the canonical order (sorted by encoded name, then value). */
export function canonicalQuery(query: ReadonlyArray<readonly [string, string]>): string {
  return query.map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join('&');
}

/** 20130524T000000Z */
export function amzDate(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export class SigV4Signer {
  private readonly credentials: SigningCredentials;
  private readonly service: string;
  private keyDay = '';
  private key: Buffer = Buffer.alloc(0);

  constructor(credentials: SigningCredentials, service = 's3') {
    this.credentials = credentials;
    this.service = service;
  }

  /** The Authorization header for `req`, whose x-amz-date header is `date` (amzDate form). */
  authorization(req: SignedRequest, date: string): string {
    const day = date.slice(0, 8);
    const scope = `${day}/${this.credentials.region}/${this.service}/aws4_request`;
    const names = Object.keys(req.headers).sort();
    const signedHeaders = names.join(';');
    const canonical = [
      req.method,
      req.path,
      canonicalQuery(req.query),
      names.map((n) => `${n}:${req.headers[n]!.trim().replace(/ {2,}/g, ' ')}\n`).join(''),
      signedHeaders,
      req.headers['x-amz-content-sha256'] ?? EMPTY_SHA256,
    ].join('\n');
    const toSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
    const signature = createHmac('sha256', this.signingKey(day)).update(toSign).digest('hex');
    return `AWS4-HMAC-SHA256 Credential=${this.credentials.accessKey}/${scope},SignedHeaders=${signedHeaders},Signature=${signature}`;
  }

  /** The derived key of `day` (YYYYMMDD), kept until the day changes. */
  private signingKey(day: string): Buffer {
    if (day !== this.keyDay) {
      const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
      const dated = hmac(`AWS4${this.credentials.secretKey}`, day);
      this.key = hmac(hmac(hmac(dated, this.credentials.region), this.service), 'aws4_request');
      this.keyDay = day;
    }
    return this.key;
  }
}
