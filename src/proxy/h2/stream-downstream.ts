/**
 * One HTTP/2 stream as the forwarding core's Downstream: the request comes from the stream's
 * header list and DATA frames, the response goes out as HEADERS, DATA and trailers. Backends are
 * still spoken to over HTTP/1.1 by the same core as for HTTP/1.1 clients.
 */
import http2 from 'node:http2';
import { Body, type ResponseHead } from '../../http1/index.js';
import { plainResponse } from '../error-response.js';
import { BadRequestHeaders, addH2Field, clientAddress, h2ResponseHeaders, h2UpstreamHeaderBlock } from '../header-rules.js';
import { originForm, type ProxyContext } from '../context.js';
import { Forwarder } from '../forwarder.js';
import { ProxyRequest } from '../request.js';
import type { Downstream } from '../pipeline.js';

const { NGHTTP2_INTERNAL_ERROR } = http2.constants;

export class StreamDownstream implements Downstream {
  readonly protocol = 'h2';
  readonly rawFraming = false;
  private readonly stream: http2.ServerHttp2Stream;
  private readonly forwarder: Forwarder;
  /** Response trailers waiting for the stream's 'wantTrailers'. */
  private pendingTrailers: Record<string, string | string[]> | null = null;
  /** Request trailers, sent upstream with the last chunk. */
  private requestTrailers: string[] | null = null;

  constructor(ctx: ProxyContext, stream: http2.ServerHttp2Stream) {
    this.stream = stream;
    this.forwarder = new Forwarder(ctx, this);
    stream.on('data', this.onData);
    stream.once('end', this.onEnd);
    stream.once('trailers', this.onTrailers);
    stream.on('drain', this.onDrain);
    stream.once('close', this.onClose);
    stream.on('wantTrailers', this.onWantTrailers);
    stream.on('error', () => {}); // 'close' follows; the core hears it there
  }

  /** Starts the request of this stream; answers 400/405 itself for what cannot be forwarded. */
  start(ctx: ProxyContext, headers: http2.IncomingHttpHeaders, rawHeaders: readonly string[]): void {
    const method = headers[':method'] ?? 'GET';
    if (method === 'CONNECT') return this.refuse(405, 'CONNECT is not supported');
    const target = originForm(headers[':path'] ?? '');
    if (target === null) return this.refuse(400, 'bad request target');
    const authority = headers[':authority'] ?? headers.host ?? '';
    const hasBody = !this.stream.endAfterHeaders;
    const length = headers['content-length'];
    const bodyKind = !hasBody ? Body.NONE : length !== undefined ? Body.FIXED : Body.CHUNKED;
    const clientIp = clientAddress(this.stream.session?.socket?.remoteAddress);
    let headerBlock: string;
    try {
      headerBlock = h2UpstreamHeaderBlock(rawHeaders, authority, bodyKind === Body.CHUNKED, { clientIp, proto: ctx.proto });
    } catch (err) {
      if (!(err instanceof BadRequestHeaders)) throw err;
      return this.refuse(400, err.message);
    }
    const req = new ProxyRequest({ protocol: 'h2', method, target, authority, clientIp, hasBody, headerBlock, hostMissing: authority === '', versionMinor: 1 });
    if (ctx.console.debug) req.debugHeaders = { requestHeaders: { ...headers }, responseHeaders: {} };
    this.forwarder.start(req, bodyKind, length === undefined ? -1 : Number(length), false);
  }

  private refuse(status: number, message: string): void {
    const r = plainResponse(status, message);
    this.answerHead(r.status, r.headers, Buffer.byteLength(r.body));
    this.stream.end(r.body);
  }

  // ---- Downstream ----

  interim(h: ResponseHead): void {
    if (h.statusCode !== 103) return; // HTTP/2 clients get no 100 Continue from a relayed backend
    try {
      this.stream.additionalHeaders({ ...h2ResponseHeaders(h), ':status': 103 });
    } catch {
      // Early hints are advice: drop what HTTP/2 will not carry.
    }
  }

  relayHead(h: ResponseHead, extra: readonly string[] | null): boolean {
    const headers = h2ResponseHeaders(h);
    if (extra !== null) for (let i = 0; i + 1 < extra.length; i += 2) addH2Field(headers, extra[i]!, extra[i + 1]!);
    headers[':status'] = String(h.statusCode);
    return this.respond(headers, h.bodyKind === Body.CHUNKED);
  }

  answerHead(status: number, given: Record<string, string>, length: number): void {
    const headers: Record<string, string | string[]> = {};
    for (const k in given) addH2Field(headers, k, given[k]!);
    if (length >= 0) headers['content-length'] = String(length);
    headers[':status'] = String(status);
    this.respond(headers, false);
  }

  private respond(headers: Record<string, string | string[]>, waitForTrailers: boolean): boolean {
    if (this.stream.destroyed || this.stream.headersSent) return false;
    try {
      this.stream.respond(headers, { waitForTrailers });
      return true;
    } catch {
      // Not a head HTTP/2 can carry: reset this stream rather than throw inside an event handler.
      this.stream.close(NGHTTP2_INTERNAL_ERROR);
      return false;
    }
  }

  body(data: Buffer): boolean {
    if (this.stream.destroyed) return true;
    return this.stream.write(data);
  }

  flush(): void {}

  get holdsData(): boolean {
    return this.stream.writableLength > 0;
  }

  trailers(fields: readonly string[]): void {
    const out: Record<string, string | string[]> = {};
    for (let i = 0; i < fields.length; i += 2) addH2Field(out, fields[i]!, fields[i + 1]!);
    this.pendingTrailers = out;
  }

  end(): void {
    if (!this.stream.destroyed) this.stream.end();
  }

  abort(): void {
    if (!this.stream.destroyed) this.stream.close(NGHTTP2_INTERNAL_ERROR);
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

  // ---- stream events ----

  private readonly onData = (chunk: Buffer): void => {
    this.forwarder.requestData(chunk);
  };

  private readonly onTrailers = (headers: http2.IncomingHttpHeaders): void => {
    const out: string[] = [];
    for (const [name, value] of Object.entries(headers)) {
      if (name.charCodeAt(0) === 58 || value === undefined) continue;
      out.push(name, Array.isArray(value) ? value.join(', ') : String(value));
    }
    this.requestTrailers = out;
  };

  private readonly onEnd = (): void => {
    this.forwarder.requestEnd(this.requestTrailers);
  };

  private readonly onDrain = (): void => {
    this.forwarder.clientDrained();
  };

  private readonly onWantTrailers = (): void => {
    const t = this.pendingTrailers;
    this.pendingTrailers = null;
    try {
      this.stream.sendTrailers(t ?? {});
    } catch {
      this.stream.close();
    }
  };

  private readonly onClose = (): void => {
    this.forwarder.clientClosed();
  };
}
