/**
 * HTTP/2 connections: each connection the TLS server negotiated 'h2' on (src/tls/serving.ts), or
 * an h2c one with prior knowledge, runs an H2Connection over its socket; every stream goes to the
 * forwarding core through a StreamDownstream. Tracks connections for idle timeouts and drain.
 */
import type net from 'node:net';
import type { ProxyContext } from '../context.js';
import { clientAddress } from '../header-rules.js';
import { DEFAULT_LIMITS, H2Connection, type ConnectionOwner, type Transport } from './connection.js';
import type { RequestHead } from './request-head.js';
import type { H2Stream } from './stream.js';
import { StreamDownstream, type SessionInfo, type StreamOwner } from './stream-downstream.js';

export interface H2Limits {
  /** A connection with no open stream is closed after this long without traffic. */
  readonly idleTimeoutMs: number;
  /** Largest request header list accepted (HPACK-decoded, as SETTINGS_MAX_HEADER_LIST_SIZE counts it). */
  readonly maxHeaderListSize: number;
}

/** Recycled stream adapters kept at most (a few hundred concurrent streams need no more). */
const MAX_SPARE = 256;
/** Bytes queued in a client socket beyond which its streams wait and its reading pauses. */
const WRITE_BACKLOG = 256 * 1024;
/** A connection we ended is cut if its peer has not closed it after this long. */
const CLOSE_GRACE_MS = 5_000;

/** One socket as an H2Connection's transport. */
class SocketTransport implements Transport {
  private readonly socket: net.Socket;
  /** When end() was called (ms), 0 before. */
  endedAt = 0;

  constructor(socket: net.Socket) {
    this.socket = socket;
  }

  write(chunks: Buffer[]): boolean {
    const socket = this.socket;
    if (socket.destroyed) return true;
    if (chunks.length === 1) socket.write(chunks[0]!);
    else {
      socket.cork();
      for (const c of chunks) socket.write(c);
      socket.uncork();
    }
    // Not node's 16 KiB mark: stopping at each would stall large responses on every write.
    return socket.writableLength < WRITE_BACKLOG;
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  end(): void {
    this.endedAt = Date.now();
    this.socket.end();
  }
}

interface Session {
  readonly conn: H2Connection;
  readonly socket: net.Socket;
  readonly transport: SocketTransport;
  readonly info: SessionInfo;
}

export class H2Sessions implements ConnectionOwner, StreamOwner {
  private readonly ctx: ProxyContext;
  private readonly limits: H2Limits;
  private readonly sessions = new Map<H2Connection, Session>();
  private draining = false;
  private readonly onClosed: () => void;
  /** Stream adapters (each with its Forwarder) whose stream ended cleanly, ready for the next one. */
  private readonly spare: StreamDownstream[] = [];
  private sweeper: NodeJS.Timeout | null = null;

  /** `onClosed`: a connection closed (the engine's drain watches for the last one). */
  constructor(onClosed: () => void, ctx: ProxyContext, limits: H2Limits) {
    this.onClosed = onClosed;
    this.ctx = ctx;
    this.limits = limits;
  }

  /** Open connections. */
  get size(): number {
    return this.sessions.size;
  }

  /** Serve HTTP/2 on `socket`; `received`: bytes already read from it (h2c: the preface). */
  accept(socket: net.Socket, received: Buffer | null = null): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    const transport = new SocketTransport(socket);
    const limits = { ...DEFAULT_LIMITS, maxHeaderListSize: this.limits.maxHeaderListSize };
    const conn = new H2Connection(transport, this, limits);
    const session: Session = { conn, socket, transport, info: { clientIp: clientAddress(socket.remoteAddress) } };
    this.sessions.set(conn, session);
    socket.on('data', (chunk: Buffer) => conn.receive(chunk));
    socket.on('drain', () => conn.drained());
    socket.on('end', () => conn.drain());
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      this.sessions.delete(conn);
      conn.transportClosed();
      if (this.sessions.size === 0) this.stopSweeper();
      this.onClosed();
    });
    this.startSweeper();
    if (received !== null && received.length > 0) conn.receive(received);
    socket.resume();
  }

  /** GOAWAY to every connection: streams in flight finish, no new ones start, each closes when done. */
  drain(): void {
    this.draining = true;
    for (const conn of this.sessions.keys()) conn.drain();
  }

  /** Cut every connection still open; returns how many there were. */
  destroyAll(): number {
    const n = this.sessions.size;
    for (const s of this.sessions.values()) s.socket.destroy();
    return n;
  }

  // ---- ConnectionOwner / StreamOwner ----

  openStream(conn: H2Connection, stream: H2Stream, head: RequestHead): void {
    const session = this.sessions.get(conn);
    if (session === undefined) return;
    const down = this.spare.pop() ?? new StreamDownstream(this.ctx, this);
    down.attach(stream, session.info).start(this.ctx, head);
  }

  streamClosed(_conn: H2Connection, _open: number): void {}

  /** A stream ended; its adapter may serve the next one when `reusable`. */
  readonly adapterFreed = (down: StreamDownstream, _info: SessionInfo, reusable: boolean): void => {
    if (reusable && this.spare.length < MAX_SPARE) this.spare.push(down);
  };

  // ---- idle connections ----

  private startSweeper(): void {
    if (this.sweeper !== null) return;
    const every = Math.max(50, Math.min(1000, this.limits.idleTimeoutMs / 4));
    this.sweeper = setInterval(this.sweep, every);
    this.sweeper.unref();
  }

  private stopSweeper(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  /**
   * Closes connections idle past the timeout, lets the others with no stream open drop their
   * output buffer, and cuts those whose peer never closed after our end.
   */
  private readonly sweep = (): void => {
    const now = Date.now();
    for (const { conn, socket, transport } of this.sessions.values()) {
      if (transport.endedAt !== 0) {
        if (now - transport.endedAt > CLOSE_GRACE_MS) socket.destroy();
      } else if (conn.openStreams === 0) {
        if (now - conn.lastActive > this.limits.idleTimeoutMs) conn.drain();
        else conn.out.release();
      }
    }
  };
}
