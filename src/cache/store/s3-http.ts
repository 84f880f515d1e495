/**
 * Signed S3 requests over keep-alive node:http(s) connections: the transport of the cache's store
 * client. It replaced the AWS SDK v3 on the cache's hot path, because the SDK cost 1.5-2.4 ms of
 * CPU per call whatever the call carried (GetObject of 2 B 1.53 ms, a 404 1.75 ms, a 1 MiB
 * PutObject 3.5 ms; /tmp/sdkprobe/probe2.mjs, bench/RESULTS.md session 4), and a miss makes three
 * calls. This does what the cache needs and no more: path-style URLs, SigV4 in the Authorization
 * header, S3 XML errors read for their code, one retry of a request (not a POST) that failed
 * before any answer or with a 500/503 (the SDK's maxAttempts 2), timeouts.
 *
 * Bulk bodies (object data) are sent as UNSIGNED-PAYLOAD: every store the project was measured
 * against accepts it (AWS documents it; Swift's s3api and @20minutes/s3rver accept it; s3rver
 * does not check signatures), and it spares both sides a SHA-256 of every byte (0.6 ms per MiB
 * here, and Swift hashes in Python). Small bodies (metadata JSON, XML) are signed with their hash.
 */
import http from 'node:http';
import https from 'node:https';
import { createHash } from 'node:crypto';
import type tls from 'node:tls';
import { EMPTY_SHA256, SigV4Signer, UNSIGNED_PAYLOAD, amzDate, canonicalQuery, encodePath } from './sigv4.js';
import { xmlValue } from './s3-xml.js';

export interface S3HttpOptions {
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
  /** For https endpoints: the backend TLS options (--cacert, --client-cert, --insecure). */
  readonly secureContext?: tls.SecureContext | undefined;
  readonly insecure?: boolean;
}

/** One S3 call: an object (or the bucket when key is undefined), query parameters, extra headers, a body. */
export interface S3Call {
  readonly method: string;
  readonly bucket: string;
  readonly key?: string;
  readonly query?: ReadonlyArray<readonly [string, string]>;
  /** Extra request headers, names in lower case (signed too). */
  readonly headers?: Readonly<Record<string, string>>;
  /** One buffer, or the pieces of one body (written one after the other: no copy to join them). */
  readonly body?: Buffer | readonly Buffer[];
  /** A body the caller writes as it arrives (see streamed()), this many bytes; sent unsigned. */
  readonly streamedLength?: number;
}

/** A finished call: status, headers and the whole (small) answer body. */
export interface S3Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
}

/** The store refused a call: HTTP status and S3 error code (NoSuchKey, PreconditionFailed, NoSuchUpload, ...). */
export class S3Error extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, what: string) {
    super(`${what}: ${status} ${code}`);
    this.status = status;
    this.code = code;
  }
}

/** Bodies up to this size are signed with their SHA-256; larger ones (object data) are sent unsigned. */
const SIGNED_BODY_MAX = 64 * 1024;
const CONNECT_TIMEOUT_MS = 5_000;
/** No byte for this long (while sending, waiting or reading) fails the call, like the SDK's requestTimeout. */
const IDLE_TIMEOUT_MS = 30_000;
const RETRIED_STATUS = new Set([500, 503]);
/**
 * A streamed body cannot be sent twice, so its connection must not be one the store may have
 * closed while it was idle: those are dropped after this long (far below any store's idle timeout,
 * Swift's is 60 s), on an agent of their own.
 */
const STREAM_IDLE_MS = 2_000;

export class S3Http {
  private readonly signer: SigV4Signer;
  private readonly agent: http.Agent;
  /** Connections for streamed bodies (STREAM_IDLE_MS says why they are apart). */
  private readonly streamAgent: http.Agent;
  private readonly request: typeof http.request;
  private readonly endpoint: URL;
  private readonly host: string;
  /** The endpoint's own path, if any, before /bucket/key. */
  private readonly basePath: string;

  constructor(options: S3HttpOptions) {
    this.signer = new SigV4Signer(options);
    this.endpoint = new URL(options.endpoint);
    this.host = this.endpoint.host;
    this.basePath = this.endpoint.pathname.replace(/\/+$/, '');
    const secure = this.endpoint.protocol === 'https:';
    const agentOptions = { keepAlive: true, maxSockets: 256 };
    const agentOf = (extra: http.AgentOptions): http.Agent => (secure
      ? new https.Agent({ ...agentOptions, ...extra, secureContext: options.secureContext, rejectUnauthorized: options.insecure !== true })
      : new http.Agent({ ...agentOptions, ...extra }));
    this.agent = agentOf({});
    this.streamAgent = agentOf({ timeout: STREAM_IDLE_MS });
    this.request = secure ? https.request : http.request;
  }

  /**
   * Sends `call`; resolves with the response once its head arrived, body unread (the caller reads
   * or destroys it). Retried once when it failed before an answer, or with a 500/503.
   */
  async open(call: S3Call): Promise<http.IncomingMessage> {
    // POSTs are not repeated: a CreateMultipartUpload the store acted on before the connection
    // broke would leave an upload nobody aborts; a failed Complete aborts the fill instead.
    if (call.method === 'POST') return this.once(call);
    try {
      const res = await this.once(call);
      if (!RETRIED_STATUS.has(res.statusCode ?? 0)) return res;
      res.resume();
    } catch {
      // a request that got no answer (a keep-alive connection the store had closed, a timeout): once more
    }
    return this.once(call);
  }

  /** Sends `call` and reads its whole answer; a status outside 2xx (and `alsoOk`) throws an S3Error. */
  async send(call: S3Call, alsoOk: readonly number[] = []): Promise<S3Answer> {
    const res = await this.open(call);
    const text = await readText(res);
    const status = res.statusCode ?? 0;
    if (succeeded(status, text) || alsoOk.includes(status)) return { status, headers: res.headers, text };
    throw errorOf(status, text, `${call.method} ${call.key ?? call.bucket}`);
  }

  /**
   * A call whose body the caller writes into `request` as it arrives (then ends it); never
   * retried. `answer` settles with the store's whole answer (a status outside 2xx rejects), which
   * may come before the body was all sent: the store refused it, and the request is then destroyed.
   * Destroying the request cuts the body short: the store stores nothing.
   */
  streamed(call: S3Call): { request: http.ClientRequest; answer: Promise<S3Answer> } {
    const request = this.start(call, this.streamAgent);
    const answer = new Promise<S3Answer>((resolve, reject) => {
      request.once('error', reject);
      request.once('response', (res) => {
        readText(res).then((text) => {
          const status = res.statusCode ?? 0;
          if (succeeded(status, text)) return resolve({ status, headers: res.headers, text });
          request.destroy();
          reject(errorOf(status, text, `${call.method} ${call.key ?? call.bucket}`));
        }, reject);
      });
    });
    return { request, answer };
  }

  destroy(): void {
    this.agent.destroy();
    this.streamAgent.destroy();
  }

  /** The request target (path and query) and every header of `call`, signed. */
  prepare(call: S3Call): { target: string; headers: Record<string, string> } {
    const query = call.query ?? [];
    const path = this.basePath + encodePath(call.bucket, call.key);
    const date = amzDate(new Date());
    const body = piecesOf(call);
    let length = 0;
    for (const piece of body) length += piece.length;
    if (call.streamedLength !== undefined) length = call.streamedLength;
    const payload = length === 0 ? EMPTY_SHA256 : call.streamedLength !== undefined || length > SIGNED_BODY_MAX ? UNSIGNED_PAYLOAD : sha256(body);
    const headers: Record<string, string> = { ...call.headers, host: this.host, 'x-amz-date': date, 'x-amz-content-sha256': payload };
    headers.authorization = this.signer.authorization({ method: call.method, path, query, headers }, date);
    if (length > 0 || call.method === 'PUT' || call.method === 'POST') headers['content-length'] = String(length);
    return { target: query.length === 0 ? path : `${path}?${canonicalQuery(query)}`, headers };
  }

  /** The request of `call` (signed, with its connect and idle timeouts), its body not yet written. */
  private start(call: S3Call, agent: http.Agent): http.ClientRequest {
    const { target, headers } = this.prepare(call);
    const req = this.request({
      protocol: this.endpoint.protocol, hostname: this.endpoint.hostname, port: this.endpoint.port,
      method: call.method, path: target, headers, agent,
    });
    const connectTimer = setTimeout(() => req.destroy(new Error(`${this.host}: no connection in ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    req.once('socket', (socket) => {
      if (!socket.connecting) clearTimeout(connectTimer);
      else socket.once('connect', () => clearTimeout(connectTimer));
    });
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error(`${this.host}: no answer in ${IDLE_TIMEOUT_MS} ms`)));
    req.once('response', () => clearTimeout(connectTimer));
    req.once('close', () => clearTimeout(connectTimer));
    return req;
  }

  private once(call: S3Call): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = this.start(call, this.agent);
      req.once('response', resolve);
      req.once('error', reject);
      const pieces = piecesOf(call);
      for (let i = 0; i < pieces.length - 1; i++) req.write(pieces[i]);
      req.end(pieces[pieces.length - 1]);
    });
  }
}

/**
 * A 2xx answer that is not an S3 error document: S3 may answer 200 and still fail (a
 * CompleteMultipartUpload whose error arrives in the body).
 */
function succeeded(status: number, text: string): boolean {
  return status >= 200 && status < 300 && !/^\s*(<\?xml[^>]*>\s*)?<Error>/.test(text);
}

/** The body of `call` as its pieces. */
function piecesOf(call: S3Call): readonly Buffer[] {
  return call.body === undefined ? [] : Buffer.isBuffer(call.body) ? [call.body] : call.body;
}

function sha256(pieces: readonly Buffer[]): string {
  const hash = createHash('sha256');
  for (const piece of pieces) hash.update(piece);
  return hash.digest('hex');
}

/** The whole (small) body of an answer as text (events, not an async iterator: cheaper per call). */
export function readText(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.once('end', () => {
      ended = true;
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    res.once('error', reject);
    res.once('close', () => {
      if (!ended) reject(new Error('the store closed its answer before the end'));
    });
  });
}

/** The S3Error an error answer stands for (a HEAD has no body: its status names it). */
export function errorOf(status: number, text: string, what: string): S3Error {
  const code = xmlValue(text, 'Code') ?? (status === 404 ? 'NotFound' : status === 403 ? 'Forbidden' : `HTTP${status}`);
  return new S3Error(status, code, what);
}
