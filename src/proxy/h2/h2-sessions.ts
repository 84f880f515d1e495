/**
 * HTTP/2 connections: a node:http2 server that never listens itself takes each connection the
 * TLS server negotiated 'h2' on (src/tls/serving.ts) and hands every stream to the forwarding
 * core through a StreamDownstream. Sessions are tracked for idle timeouts and drain.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyContext } from '../context.js';
import { clientAddress } from '../header-rules.js';
import { StreamDownstream, type SessionInfo, type StreamOwner } from './stream-downstream.js';

export interface H2Limits {
  /** A session with no open stream is closed after this long without traffic. */
  readonly idleTimeoutMs: number;
  /** Largest request header list accepted (HPACK-decoded, as SETTINGS_MAX_HEADER_LIST_SIZE counts it). */
  readonly maxHeaderListSize: number;
}

/** Recycled stream adapters kept at most (a few hundred concurrent streams need no more). */
const MAX_SPARE = 256;

export class H2Sessions implements StreamOwner {
  private readonly ctx: ProxyContext;
  private readonly limits: H2Limits;
  private readonly server: http2.Http2Server;
  /** Open sessions, each with its streams open now and its client's address. */
  private readonly sessions = new Map<http2.Http2Session, SessionInfo>();
  private draining = false;
  private readonly onClosed: () => void;
  /** Stream adapters (each with its Forwarder) whose stream ended cleanly, ready for the next one. */
  private readonly spare: StreamDownstream[] = [];

  /** StreamOwner: a stream ended; its adapter may serve the next one. */
  readonly streamClosed = (down: StreamDownstream, info: SessionInfo, reusable: boolean): void => {
    if (reusable && this.spare.length < MAX_SPARE) this.spare.push(down);
    if (--info.open > 0 || !this.sessions.has(info.session)) return;
    // The idle timer only fires once per quiet spell: arm it again (same listener) when the last stream ends.
    if (!info.session.closed) info.session.setTimeout(this.limits.idleTimeoutMs);
  };

  /** `onClosed`: a session closed (the engine's drain watches for the last one). */
  constructor(onClosed: () => void, ctx: ProxyContext, limits: H2Limits) {
    this.onClosed = onClosed;
    this.ctx = ctx;
    this.limits = limits;
    this.server = http2.createServer({ settings: { maxHeaderListSize: limits.maxHeaderListSize } });
    this.server.on('session', this.onSession);
    this.server.on('stream', this.onStream);
  }

  /** Open connections (sessions). */
  get size(): number {
    return this.sessions.size;
  }

  accept(socket: net.Socket | Duplex): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.server.emit('connection', socket);
  }

  /** GOAWAY to every session: streams in flight finish, no new ones start, each closes when done. */
  drain(): void {
    this.draining = true;
    for (const s of this.sessions.keys()) s.close();
  }

  /** Cut every session still open; returns how many there were. */
  destroyAll(): number {
    const n = this.sessions.size;
    for (const s of this.sessions.keys()) s.destroy();
    return n;
  }

  private infoOf(session: http2.ServerHttp2Session): SessionInfo {
    let info = this.sessions.get(session);
    if (info === undefined) {
      // Read once per connection: session.socket is a proxy object, slow to go through per stream.
      info = { session, open: 0, clientIp: clientAddress(session.socket?.remoteAddress) };
      this.sessions.set(session, info);
    }
    return info;
  }

  private readonly onSession = (session: http2.ServerHttp2Session): void => {
    const info = this.infoOf(session);
    session.once('close', () => {
      this.sessions.delete(session);
      this.onClosed();
    });
    session.on('error', () => {}); // the session is destroyed; its streams hear 'close'
    session.setTimeout(this.limits.idleTimeoutMs, () => {
      if (info.open === 0) session.close();
    });
    if (this.draining) session.close();
  };

  private readonly onStream = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]): void => {
    const session = stream.session as http2.ServerHttp2Session;
    const info = this.infoOf(session);
    info.open++;
    const down = this.spare.pop() ?? new StreamDownstream(this.ctx, this);
    down.attach(stream, info).start(this.ctx, headers, rawHeaders);
  };
}
