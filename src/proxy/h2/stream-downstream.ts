/**
 * One HTTP/2 stream as the forwarding core's Downstream: the request comes from the stream's
 * header list and DATA frames, the response goes out as HEADERS, DATA and trailers. Backends are
 * still spoken to over HTTP/1.1 by the same core as for HTTP/1.1 clients.
 */
import http2 from 'node:http2';
import { Body, type ResponseHead } from '../../http1/index.js';
import { plainResponse } from '../error-response.js';
import { BadRequestHeaders, addH2Field, h2ResponseHeaders, h2UpstreamHeaderBlock } from '../header-rules.js';
import { originForm, type ProxyContext } from '../context.js';
import { Forwarder } from '../forwarder.js';
import { ProxyRequest } from '../request.js';
import type { Downstream } from '../pipeline.js';

const { NGHTTP2_INTERNAL_ERROR } = http2.constants;

/**
 * Body writes up to this size are copied. An HTTP/2 stream never completes a write at once (it
 * goes through the session's frame queue), so passing the core's read buffer would make the core
 * allocate a fresh read buffer (16 KiB or more) for every response; copying a small span is far
 * cheaper. Larger spans are passed as they are and the read buffer is handed over instead.
 */
const COPY_MAX = 4096;

/** One HTTP/2 connection as its streams see it. */
export interface SessionInfo {
  readonly session: http2.ServerHttp2Session;
  /** Streams open now. */
  open: number;
  /** The client's address, read once per connection. */
  readonly clientIp: string;
}

/** Who hears that a stream ended (H2Sessions): `reusable` when this adapter may serve another stream. */
export interface StreamOwner {
  streamClosed(down: StreamDownstream, info: SessionInfo, reusable: boolean): void;
}

/** respond() options (node copies them): constants, not an object per response. */
const WITH_TRAILERS = Object.freeze({ waitForTrailers: true });
const NO_TRAILERS = Object.freeze({});

/** Stream errors are followed by 'close', where the core hears of them. */
function ignore(): void {}

/**
 * Reused across streams (see H2Sessions): a Forwarder carries parsers and framers with typed
 * arrays, and allocating them per stream showed up as a fifth of the CPU in garbage collection.
 * One is recycled only when its stream closed after the request had finished cleanly.
 */
export class StreamDownstream implements Downstream {
  readonly protocol = 'h2';
  readonly rawFraming = false;
  private stream!: http2.ServerHttp2Stream;
  private readonly forwarder: Forwarder;
  private readonly owner: StreamOwner;
  private info!: SessionInfo;
  /** Response trailers waiting for the stream's 'wantTrailers'. */
  private pendingTrailers: Record<string, string | string[]> | null = null;
  /** Request trailers, sent upstream with the last chunk. */
  private requestTrailers: string[] | null = null;
  /** A small body chunk (a copy) held back to go out with the next write or with END_STREAM. */
  private pending: Buffer | null = null;
  /** Writes still pending that reference the core's buffer (not a copy). */
  private sharedWrites = 0;
  /**
   * 'drain' and 'wantTrailers' are listened to only when needed (a write was refused; a chunked
   * response may end with trailers): most small responses need neither, and each listener is
   * work per stream that a bare node:http2 server does not do.
   */
  private drainWatched = false;

  constructor(ctx: ProxyContext, owner: StreamOwner) {
    this.forwarder = new Forwarder(ctx, this);
    this.owner = owner;
  }

  /** Serve `stream` (a new one, or the next one after this object was recycled). */
  attach(stream: http2.ServerHttp2Stream, info: SessionInfo): this {
    this.stream = stream;
    this.info = info;
    this.pendingTrailers = null;
    this.requestTrailers = null;
    this.pending = null;
    this.sharedWrites = 0;
    this.drainWatched = false;
    // 'end', 'trailers' and 'close' come once per stream: plain listeners, no once() wrappers.
    // A stream that ended with its headers is not read at all, as a bare node:http2 server does
    // not: once its readable side has ended, node destroys the stream as soon as nghttp2 closes
    // it, before our response write has completed, and that write's completion then builds an
    // ERR_STREAM_DESTROYED error for every request (~4% of the CPU on small requests). Unread,
    // node drains it itself and destroys it after the write.
    if (!stream.endAfterHeaders) {
      stream.on('data', this.onData);
      stream.on('end', this.onEnd);
      stream.on('trailers', this.onTrailers);
    }
    stream.on('close', this.onClose);
    stream.on('error', ignore);
    return this;
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
    const clientIp = this.info.clientIp;
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
      if (waitForTrailers) this.stream.on('wantTrailers', this.onWantTrailers);
      this.stream.respond(headers, waitForTrailers ? WITH_TRAILERS : NO_TRAILERS);
      return true;
    } catch {
      // Not a head HTTP/2 can carry: reset this stream rather than throw inside an event handler.
      this.stream.close(NGHTTP2_INTERNAL_ERROR);
      return false;
    }
  }

  body(data: Buffer): boolean {
    if (this.stream.destroyed) return true;
    if (data.length <= COPY_MAX) {
      // Held until flush() or end(): a whole small response then leaves as HEADERS + one DATA
      // frame carrying END_STREAM, in one write.
      this.writePending();
      this.pending = Buffer.from(data);
      return this.flowing(this.stream.writableNeedDrain === false);
    }
    this.writePending();
    this.sharedWrites++;
    return this.flowing(this.stream.write(data, this.onSharedWritten));
  }

  /** `ok` false: the core waits for 'drain', which is listened to from now on. */
  private flowing(ok: boolean): boolean {
    if (!ok && !this.drainWatched) {
      this.drainWatched = true;
      this.stream.on('drain', this.onDrain);
    }
    return ok;
  }

  flush(): void {
    this.writePending();
  }

  private writePending(): void {
    const chunk = this.pending;
    if (chunk === null) return;
    this.pending = null;
    if (!this.stream.destroyed) this.stream.write(chunk);
  }

  get holdsData(): boolean {
    return this.sharedWrites > 0;
  }

  trailers(fields: readonly string[]): void {
    const out: Record<string, string | string[]> = {};
    for (let i = 0; i < fields.length; i += 2) addH2Field(out, fields[i]!, fields[i + 1]!);
    this.pendingTrailers = out;
  }

  end(): void {
    const chunk = this.pending;
    this.pending = null;
    if (this.stream.destroyed) return;
    if (chunk !== null) this.stream.end(chunk);
    else this.stream.end();
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

  private readonly onSharedWritten = (): void => {
    this.sharedWrites--;
  };

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
    // Finished cleanly, and no write of ours still points into a buffer the core would reuse.
    const reusable = this.forwarder.idle && this.sharedWrites === 0;
    this.forwarder.clientClosed();
    // 'close' is a stream's last event: its listeners need no removal before the next stream.
    this.owner.streamClosed(this, this.info, reusable);
  };
}
