/**
 * One HTTP/2 stream as the forwarding core's Downstream: the request comes from the stream's
 * header list and DATA frames, the response goes out as HEADERS, DATA and trailers. Backends are
 * still spoken to over HTTP/1.1 by the same core as for HTTP/1.1 clients.
 */
import { Body, type ResponseHead } from '../../http1/index.js';
import { plainResponse } from '../error-response.js';
import { BadRequestHeaders, addH2Field, h2ResponseHeaders, h2UpstreamHeaderBlock } from '../header-rules.js';
import { originForm, type ProxyContext } from '../context.js';
import { Forwarder } from '../forwarder.js';
import { ProxyRequest } from '../request.js';
import type { Downstream } from '../pipeline.js';
import { ErrorCode } from './frames.js';
import { respondBackendHead } from './response-head.js';
import type { RequestHead } from './request-head.js';
import type { H2Stream, ResponseFields, StreamHandler } from './stream.js';

/** One HTTP/2 connection as its streams see it. */
export interface SessionInfo {
  /** The client's address, read once per connection. */
  readonly clientIp: string;
}

/** Who hears that a stream ended (H2Sessions): `reusable` when this adapter may serve another stream. */
export interface StreamOwner {
  adapterFreed(down: StreamDownstream, info: SessionInfo, reusable: boolean): void;
}

/**
 * Reused across streams (see H2Sessions): a Forwarder carries parsers and framers with typed
 * arrays, and allocating them per stream showed up as a fifth of the CPU in garbage collection.
 * One is recycled only when its stream closed after the request had finished cleanly.
 */
export class StreamDownstream implements Downstream, StreamHandler {
  readonly protocol = 'h2';
  readonly rawFraming = false;
  /** Body bytes are copied into the connection's output: the core's buffer is free once body() returns. */
  readonly holdsData = false;
  private stream!: H2Stream;
  private readonly forwarder: Forwarder;
  private readonly owner: StreamOwner;
  private info!: SessionInfo;
  /** Scratch for the HTTP/2 names of a backend head's fields (response-head.ts). */
  private readonly names: string[] = [];
  /** Response trailers, sent with the end of the stream. */
  private pendingTrailers: ResponseFields | null = null;

  constructor(ctx: ProxyContext, owner: StreamOwner) {
    this.forwarder = new Forwarder(ctx, this);
    this.owner = owner;
  }

  /** Serve `stream` (a new one, or the next one after this object was recycled). */
  attach(stream: H2Stream, info: SessionInfo): this {
    this.stream = stream;
    this.info = info;
    this.pendingTrailers = null;
    stream.handler = this;
    return this;
  }

  /** Starts the request of this stream; answers 400/405 itself for what cannot be forwarded. */
  start(ctx: ProxyContext, head: RequestHead): void {
    const method = head.method;
    if (method === 'CONNECT') return this.refuse(405, 'CONNECT is not supported');
    const target = originForm(head.path);
    if (target === null) return this.refuse(400, 'bad request target');
    const authority = head.authority !== '' ? head.authority : hostField(head.fields);
    const hasBody = !this.stream.remoteEnded;
    const length = head.contentLength;
    const bodyKind = !hasBody ? Body.NONE : length >= 0 ? Body.FIXED : Body.CHUNKED;
    const clientIp = this.info.clientIp;
    let headerBlock: string;
    try {
      headerBlock = h2UpstreamHeaderBlock(head.fields, authority, bodyKind === Body.CHUNKED, { clientIp, proto: ctx.proto });
    } catch (err) {
      if (!(err instanceof BadRequestHeaders)) throw err;
      return this.refuse(400, err.message);
    }
    const req = new ProxyRequest({ protocol: 'h2', method, target, authority, clientIp, hasBody, headerBlock, hostMissing: authority === '', versionMinor: 1 });
    if (ctx.console.debug) req.debugHeaders = { requestHeaders: fieldObject(head.fields), responseHeaders: {} };
    this.forwarder.start(req, bodyKind, length, false);
  }

  private refuse(status: number, message: string): void {
    const r = plainResponse(status, message);
    this.answerHead(r.status, r.headers, Buffer.byteLength(r.body));
    this.stream.write(Buffer.from(r.body));
    this.stream.end();
  }

  // ---- Downstream ----

  /** 100 Continue and 103 Early Hints go on as interim HEADERS (RFC 9113 §8.1); other 1xx are the backend's business. */
  interim(h: ResponseHead): void {
    if (h.statusCode === 100) this.stream.respond(100, {});
    else if (h.statusCode === 103) this.stream.respond(103, h2ResponseHeaders(h));
  }

  relayHead(h: ResponseHead, extra: readonly string[] | null): boolean {
    if (this.stream.closed || this.stream.headersSent) return false;
    respondBackendHead(this.stream, h, this.names, extra);
    return true;
  }

  answerHead(status: number, given: Record<string, string>, length: number): void {
    if (this.stream.closed || this.stream.headersSent) return;
    const headers: ResponseFields = {};
    for (const k in given) addH2Field(headers, k, given[k]!);
    if (length >= 0) headers['content-length'] = String(length);
    this.stream.respond(status, headers);
  }

  body(data: Buffer): boolean {
    return this.stream.write(data);
  }

  /** The connection writes everything produced in one turn of the event loop together. */
  flush(): void {}

  trailers(fields: readonly string[]): void {
    const out: ResponseFields = {};
    for (let i = 0; i < fields.length; i += 2) addH2Field(out, fields[i]!, fields[i + 1]!);
    this.pendingTrailers = out;
  }

  end(): void {
    const t = this.pendingTrailers;
    this.pendingTrailers = null;
    this.stream.end(t);
  }

  abort(): void {
    this.stream.reset(ErrorCode.INTERNAL_ERROR);
  }

  pauseRequest(): void {
    this.stream.pause();
  }

  resumeRequest(): void {
    this.stream.resume();
  }

  upgraded(): Buffer | null {
    return null;
  }

  // ---- StreamHandler ----

  onData(chunk: Buffer): void {
    this.forwarder.requestData(chunk);
  }

  onEnd(trailers: string[] | null): void {
    this.forwarder.requestEnd(trailers);
  }

  onDrain(): void {
    this.forwarder.clientDrained();
  }

  onClose(): void {
    // Finished cleanly: the forwarder has nothing of this request left running.
    const reusable = this.forwarder.idle;
    this.forwarder.clientClosed();
    this.owner.adapterFreed(this, this.info, reusable);
  }
}

/** The Host field of a request without :authority ('' when it has none). */
function hostField(fields: readonly string[]): string {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === 'host') return fields[i + 1]!;
  return '';
}

/** The request's fields as an object, for --debug traces only. */
function fieldObject(fields: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) out[fields[i]!] = out[fields[i]!] === undefined ? fields[i + 1]! : `${out[fields[i]!]}, ${fields[i + 1]}`;
  return out;
}
