import type net from 'node:net';
import { Body, serializeResponseHead, type RequestHead, type RequestHeadParser, type ResponseHead } from '../../http1/index.js';
import { plainResponse, type LocalResponse } from '../error-response.js';
import { ClientConnectionField, clientAddress, h1ClientResponseHead, h1UpstreamHeaderBlock, headerObject, upgradeRequested } from '../header-rules.js';
import type { ProxyContext } from '../context.js';
import type { Forwarder } from '../forwarder.js';
import { ProxyRequest } from '../request.js';
import type { Downstream } from '../pipeline.js';
import type { ConnectionSpares } from './spares.js';

/** Limits against slow or hostile clients. */
export interface ClientLimits {
  readonly maxHeadSize: number;
  /** A request head must be complete this long after its first byte arrived. */
  readonly headerTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  readonly idleTimeoutMs: number;
  /** Pipelined bytes held while a response is in progress, before reading pauses. */
  readonly maxPipelined: number;
}

export interface ClientHost {
  readonly ctx: ProxyContext;
  readonly limits: ClientLimits;
  readonly draining: boolean;
  /** Head parsers and forwarders, lent to connections while they use them. */
  readonly spares: ConnectionSpares;
  forget(conn: ClientConnection): void;
  /** The client opened with the HTTP/2 preface (h2c with prior knowledge): serve the socket as HTTP/2. */
  toH2c(socket: net.Socket, received: Buffer): void;
}

/** The HTTP/2 connection preface (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** `buf` starts like the HTTP/2 preface (as much of it as arrived, at least its request line's start). */
function looksLikeH2Preface(buf: Buffer): boolean {
  const n = Math.min(buf.length, H2_PREFACE.length);
  return n >= 4 && buf.compare(H2_PREFACE, 0, n, 0, n) === 0;
}

/** The connection a socket belongs to, for the listeners every connection shares. */
const CONNECTION = Symbol('outrigger.clientConnection');
type ClientSocket = net.Socket & { [CONNECTION]: ClientConnection };

// One set of listeners for every socket (`this` is the socket): no closures per connection.
function onSocketData(this: ClientSocket, chunk: Buffer): void { this[CONNECTION].onData(chunk); }
function onSocketEnd(this: ClientSocket): void { this[CONNECTION].onEnd(); }
function onSocketError(this: ClientSocket): void { this.destroy(); }
function onSocketClose(this: ClientSocket): void { this[CONNECTION].onClose(); }
function onSocketTimeout(this: ClientSocket): void { this[CONNECTION].onTimeout(); }
function onSocketDrain(this: ClientSocket): void { this[CONNECTION].onDrain(); }
/** Every connection's socket listeners: added on accept, removed when the socket goes to HTTP/2 (h2c). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the listeners take different arguments
const SOCKET_LISTENERS: readonly [string, (...args: any[]) => void][] = [
  ['data', onSocketData], ['end', onSocketEnd], ['error', onSocketError],
  ['close', onSocketClose], ['timeout', onSocketTimeout], ['drain', onSocketDrain],
];
function onHeadTimeout(conn: ClientConnection): void { conn.onHeadTimeout(); }

/**
 * One HTTP/1.1 client connection: parses request heads strictly, hands each request to the
 * forwarding core, and only parses the next pipelined request once the current response has
 * ended. It is the core's Downstream for this connection: response heads are rewritten from the
 * backend's lines, body bytes written as they came.
 */
export class ClientConnection implements Downstream {
  readonly protocol = 'http/1.1';
  readonly rawFraming = true;
  readonly socket: net.Socket;
  readonly host: ClientHost;
  readonly clientIp: string;
  /** Lent by host.spares while a head is being parsed (kept across reads of a partial head). */
  private parser: RequestHeadParser | null = null;
  /** Lent by host.spares from a request's head until the connection is idle again. */
  private forwarder: Forwarder | null = null;
  /** Bytes received but not yet consumed: a partial head, or pipelined requests. */
  private pending: Buffer | null = null;
  /** A request is being forwarded; its body bytes go to the forwarder. */
  private busy = false;
  private headTimer: NodeJS.Timeout | null = null;
  private closing = false;
  /** The client half-closed: answer what it sent, then end. */
  private ended = false;
  /** parseNext's loop is running. */
  private parsing = false;
  /** The current request's client allows keep-alive (HTTP/1.1 without close, HTTP/1.0 with Connection: keep-alive). */
  private keepAliveClient = true;
  private versionMinor = 1;
  /** The response in progress ends the connection (its head said Connection: close). */
  private closeAfter = false;
  private corked = false;

  constructor(socket: net.Socket, host: ClientHost) {
    this.socket = socket;
    this.host = host;
    this.clientIp = clientAddress(socket.remoteAddress);
    (socket as ClientSocket)[CONNECTION] = this;
    socket.setTimeout(host.limits.idleTimeoutMs);
    for (const [event, listener] of SOCKET_LISTENERS) socket.on(event, listener);
  }

  /** Nothing has been read yet. */
  private fresh = true;

  private handOverToH2c(received: Buffer): void {
    const socket = this.socket;
    for (const [event, listener] of SOCKET_LISTENERS) socket.off(event, listener);
    socket.setTimeout(0);
    this.host.forget(this);
    this.host.toH2c(socket, received);
  }

  /** The connection carries an upgraded protocol (a WebSocket), no HTTP exchange. */
  get inTunnel(): boolean {
    return this.forwarder?.inTunnel ?? false;
  }

  /** Idle between requests: nothing received, nothing in progress. */
  get idle(): boolean {
    return !this.busy && this.pending === null;
  }

  /** Close the connection when it next becomes idle (drain), or now if it already is. */
  closeWhenIdle(): void {
    this.closing = true;
    if (this.idle) this.socket.destroy();
  }

  /** Socket events, from the shared listeners above. */
  onData(chunk: Buffer): void {
    if (this.fresh) {
      this.fresh = false;
      // One byte compare on a connection's first read: 'P' never starts a method we forward but PRI.
      if (chunk[0] === 0x50 && looksLikeH2Preface(chunk)) return this.handOverToH2c(chunk);
    }
    if (this.closing && !this.busy) return;
    if (this.busy) {
      this.toForwarder(chunk);
      return;
    }
    this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.parseNext();
  }

  /** Bytes while a request is active: its body (or tunnel) first, the rest held for later. */
  private toForwarder(chunk: Buffer): void {
    const used = this.forwarder!.requestData(chunk);
    if (used === chunk.length) return;
    this.stash(used === 0 ? chunk : chunk.subarray(used));
  }

  /** Bytes that belong to later requests: hold them, and stop reading if too many pile up. */
  private stash(bytes: Buffer): void {
    this.pending = this.pending === null ? bytes : Buffer.concat([this.pending, bytes]);
    if (this.pending.length > this.host.limits.maxPipelined) this.socket.pause();
  }

  /**
   * Starts the requests in `pending`, one after another while each is answered at once. A loop,
   * not recursion through onData: a burst of pipelined requests answered synchronously (local
   * endpoints, or 502 with every backend down) nested a few frames per request and overflowed
   * the stack, and that RangeError from a 'data' handler killed the process. Calls made while
   * the loop runs (requestDone from a request that finished at once) leave the work to it.
   */
  private parseNext(): void {
    if (this.parsing) return;
    this.parsing = true;
    try {
      while (this.pending !== null && !this.busy && !this.socket.destroyed) {
        const buf = this.pending;
        const parser = this.parser ??= this.host.spares.parser();
        const end = parser.parse(buf, 0);
        if (end === -1) {
          this.headTimer ??= setTimeout(onHeadTimeout, this.host.limits.headerTimeoutMs, this);
          break;
        }
        this.clearHeadTimer();
        this.parser = null;
        if (end < 0) {
          const e = parser.error;
          this.host.spares.returnParser(parser);
          this.respondAndClose(plainResponse(e?.status ?? 400, e?.message ?? 'Bad Request'));
          break;
        }
        const rest = end < buf.length ? buf.subarray(end) : null;
        this.pending = null;
        this.busy = true;
        // The head is read only while the request starts (every part kept is copied): the parser goes back at once.
        const started = this.startRequest(parser.head);
        this.host.spares.returnParser(parser);
        if (!started || rest === null) continue;
        if (this.busy) this.toForwarder(rest);
        else if (!this.closing) this.pending = rest; // answered already: parse the next one
      }
    } finally {
      this.parsing = false;
    }
    if (this.ended && !this.busy && !this.socket.destroyed) this.socket.end();
  }

  /** Starts one request; false when the bytes behind its head must not be read as anything. */
  private startRequest(head: RequestHead): boolean {
    if (head.targetForm === 'authority') {
      this.respondAndClose(plainResponse(405, 'CONNECT is not supported'));
      return false;
    }
    const ctx = this.host.ctx;
    const req = new ProxyRequest({
      protocol: 'http/1.1', method: head.method, target: head.path, authority: head.authorityStart >= 0 ? head.authority : head.host, clientIp: this.clientIp,
      hasBody: head.bodyKind !== Body.NONE, headerBlock: h1UpstreamHeaderBlock(head, { clientIp: this.clientIp, proto: ctx.proto }),
      hostMissing: head.hostStart < 0 && head.authorityStart < 0, versionMinor: head.versionMinor,
    });
    if (ctx.console.debug) req.debugHeaders = { requestHeaders: headerObject(head), responseHeaders: {} };
    this.keepAliveClient = head.keepAlive;
    this.versionMinor = head.versionMinor;
    this.closeAfter = false;
    this.forwarder ??= this.host.spares.forwarder(this);
    this.forwarder.start(req, head.bodyKind, head.contentLength, upgradeRequested(head));
    // Answered at once and the connection is ending: the bytes behind the head are not read.
    return !this.closing || this.busy;
  }

  // ---- Downstream ----

  interim(h: ResponseHead): void {
    if (this.versionMinor === 1) this.socket.write(h1ClientResponseHead(h, ClientConnectionField.NONE), 'latin1');
  }

  relayHead(h: ResponseHead, extra: readonly string[] | null): boolean {
    // An HTTP/1.0 client cannot read chunked framing: without a length, the close ends its body.
    const unframed = h.bodyKind === Body.CLOSE || (h.bodyKind === Body.CHUNKED && this.versionMinor === 0);
    this.closeAfter = !this.keepAliveClient || unframed || this.host.draining;
    // The head and the first body bytes leave in one write (flush() uncorks).
    this.socket.cork();
    this.corked = true;
    this.socket.write(h1ClientResponseHead(h, this.connectionField(), extra), 'latin1');
    return true;
  }

  answerHead(status: number, headers: Record<string, string>, length: number, reusable: boolean): void {
    this.closeAfter = !reusable || !this.keepAliveClient || this.host.draining || length < 0;
    const list: string[] = [];
    for (const k in headers) list.push(k, headers[k]!);
    if (length >= 0) list.push('Content-Length', String(length));
    const field = this.connectionField();
    if (field !== ClientConnectionField.NONE) list.push('Connection', field === ClientConnectionField.CLOSE ? 'close' : 'keep-alive');
    this.socket.cork();
    this.corked = true;
    this.socket.write(serializeResponseHead(status, list));
  }

  /** Set closeAfter first: close, keep-alive for an HTTP/1.0 client (it would close otherwise), or nothing. */
  private connectionField(): ClientConnectionField {
    if (this.closeAfter) return ClientConnectionField.CLOSE;
    return this.versionMinor === 0 ? ClientConnectionField.KEEP_ALIVE : ClientConnectionField.NONE;
  }

  body(data: Buffer): boolean {
    return this.socket.write(data);
  }

  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  get holdsData(): boolean {
    return this.socket.writableLength > 0;
  }

  trailers(): void {
    // Raw framing: trailers travel inside the relayed chunked body.
  }

  end(reusable: boolean): void {
    this.flush();
    this.requestDone(this.closeAfter || !reusable);
  }

  abort(): void {
    this.corked = false;
    this.socket.destroy();
  }

  pauseRequest(): void {
    this.socket.pause();
  }

  resumeRequest(): void {
    this.socket.resume();
  }

  /** Bytes received behind the current request (an upgraded connection's first frames). */
  upgraded(): Buffer | null {
    const p = this.pending;
    this.pending = null;
    // stash() may have paused reading for these bytes (over maxPipelined); they now go to the
    // tunnel, and nothing else would resume it: the client-to-backend direction hung.
    if (p !== null && this.socket.isPaused()) this.socket.resume();
    return p;
  }

  /** The response ended; `close` says the connection cannot carry another. */
  private requestDone(close: boolean): void {
    this.busy = false;
    if (close || this.closing || this.host.draining) {
      // Whatever else the client sends on this connection is not parsed any more.
      this.closing = true;
      this.pending = null;
      this.socket.end();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    // Idle until the client sends more: what it costs goes back to be shared.
    if (this.pending === null) this.returnForwarder();
    this.parseNext();
  }

  private returnForwarder(): void {
    const f = this.forwarder;
    if (f === null || !f.idle) return;
    this.forwarder = null;
    this.host.spares.returnForwarder(f);
  }

  /** Answer a locally generated response on this connection. */
  private writeLocal(r: LocalResponse, close: boolean): void {
    const headers: string[] = [];
    for (const k in r.headers) headers.push(k, r.headers[k]!);
    headers.push('Content-Length', String(Buffer.byteLength(r.body)));
    if (close) headers.push('Connection', 'close');
    this.socket.cork();
    this.socket.write(serializeResponseHead(r.status, headers));
    this.socket.write(r.body);
    this.socket.uncork();
  }

  private respondAndClose(r: LocalResponse): void {
    // Closing and not busy: nothing in progress, so it counts as idle. With `busy` set, a client
    // whose further bytes sit unread in the paused socket (its FIN never seen) kept the
    // connection open for good: the idle timeout and a drain both skipped it.
    this.busy = false;
    this.closing = true;
    this.pending = null;
    if (!this.socket.writable) {
      this.socket.destroy();
      return;
    }
    this.writeLocal(r, true);
    this.socket.end();
    // Nothing more is read from a connection whose framing we no longer trust.
    this.socket.pause();
  }

  private clearHeadTimer(): void {
    if (this.headTimer !== null) {
      clearTimeout(this.headTimer);
      this.headTimer = null;
    }
  }

  onHeadTimeout(): void {
    this.headTimer = null;
    if (!this.busy) this.respondAndClose(plainResponse(408, 'Request Timeout'));
  }

  onTimeout(): void {
    // Only an idle keep-alive connection times out; a long poll or slow upload is left alone.
    if (this.idle) this.socket.destroy();
  }

  onDrain(): void {
    this.forwarder?.clientDrained();
  }

  onEnd(): void {
    // allowHalfOpen: a client that half-closes still gets the answers it asked for.
    this.ended = true;
    if (!this.busy) this.socket.end();
    else this.forwarder?.clientEnded();
  }

  onClose(): void {
    this.clearHeadTimer();
    if (this.parser !== null) this.host.spares.returnParser(this.parser);
    this.parser = null;
    const f = this.forwarder;
    if (f !== null) {
      // Reused only if its request had finished: a request cut short may still hear from a filter or stream.
      const finished = f.idle;
      f.clientClosed();
      this.forwarder = null;
      if (finished) this.host.spares.returnForwarder(f);
    }
    this.host.forget(this);
  }
}
