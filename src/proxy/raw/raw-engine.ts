import net from 'node:net';
import type { ListenAddress } from '../../config/types.js';
import type { Engine } from '../engine.js';
import type { ProxyContext } from '../context.js';
import { ClientConnection, type ClientHost, type ClientLimits } from './client-connection.js';
import { H2Sessions } from '../h2/h2-sessions.js';
import { ConnectionSpares } from './spares.js';
import { clientAddress } from '../header-rules.js';
import type { ServingTls } from '../../tls/serving.js';

/** Fixed by the engine; the timeouts come from the configuration (--header-timeout, --idle-timeout). */
const FIXED_LIMITS = { maxHeadSize: 16 * 1024, maxPipelined: 64 * 1024 };

/**
 * The forwarding engine on raw `net` sockets: both message heads parsed by hand (src/http1),
 * body bytes relayed without re-framing, upstream connections pooled per backend.
 */
export class RawEngine implements Engine, ClientHost {
  readonly ctx: ProxyContext;
  readonly limits: ClientLimits;
  draining = false;
  readonly spares: ConnectionSpares;
  private readonly server: net.Server;
  private readonly connections = new Set<ClientConnection>();
  /** HTTP/2 connections: over TLS when the client asks for 'h2' by ALPN, or h2c with prior knowledge on a plain port. */
  private readonly h2: H2Sessions;
  /** With TLS: the server the port's TLS connections are handed to. */
  private tlsServer: net.Server | null = null;

  /** `serving`: listen with TLS (--cert/--key, --auto-tls-host); the same ClientConnection runs on each TLSSocket. */
  constructor(ctx: ProxyContext, timeouts: Pick<ClientLimits, 'headerTimeoutMs' | 'idleTimeoutMs'>, serving: ServingTls | null = null) {
    this.ctx = ctx;
    this.limits = { ...FIXED_LIMITS, ...timeouts };
    this.spares = new ConnectionSpares(ctx, this.limits.maxHeadSize);
    // allowHalfOpen: a client that shuts down its sending side still receives its answers.
    const netOptions = { allowHalfOpen: true, noDelay: true };
    this.h2 = new H2Sessions(() => this.closeTunnelsIfAlone(), ctx, { idleTimeoutMs: this.limits.idleTimeoutMs, maxHeaderListSize: 2 * this.limits.maxHeadSize });
    if (serving === null) {
      this.server = net.createServer(netOptions, this.onConnection);
    } else {
      // The TLS server never listens itself: the port's first byte says whether a client speaks TLS.
      this.tlsServer = serving.createServer(netOptions, this.onConnection, this.h2, (message) => ctx.console.info(message));
      this.server = net.createServer(netOptions, this.sniffTls);
    }
    // Before any other listener, on the TCP socket (before a TLS handshake): over the cap, closed unread.
    if (ctx.connectionCap != null) this.server.prependListener('connection', this.admit);
  }

  private readonly admit = (socket: net.Socket): void => {
    const cap = this.ctx.connectionCap!;
    const ip = clientAddress(socket.remoteAddress);
    if (!cap.admit(ip)) {
      socket.destroy();
      return;
    }
    socket.once('close', () => cap.release(ip));
  };

  listen(address: ListenAddress): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: address.host === '' ? undefined : address.host, port: address.port, backlog: 4096 }, () => {
        this.server.off('error', reject);
        const a = this.server.address() as net.AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  drain(timeoutMs: number): Promise<number> {
    this.draining = true;
    return new Promise((resolve) => {
      let cut = 0;
      const timer = setTimeout(() => {
        cut = this.connections.size + this.h2.destroyAll();
        for (const c of this.connections) c.socket.destroy();
      }, timeoutMs);
      this.server.close(() => {
        clearTimeout(timer);
        resolve(cut);
      });
      for (const c of this.connections) c.closeWhenIdle();
      this.h2.drain();
      this.closeTunnelsIfAlone();
    });
  }

  /**
   * While draining: once every HTTP exchange has finished (HTTP/1.1 and HTTP/2 alike), the
   * tunnels left (WebSockets) are closed on both sides. Closing frames are the backend's
   * business; a drain must not wait the whole shutdown timeout for a socket that never idles.
   */
  private closeTunnelsIfAlone(): void {
    if (!this.draining || (this.h2.size ?? 0) > 0) return;
    for (const c of this.connections) if (!c.inTunnel) return;
    for (const c of this.connections) c.socket.destroy();
  }

  toH2c(socket: net.Socket, received: Buffer): void {
    this.h2.accept(socket, received);
  }

  /**
   * A connection to the TLS port: a TLS handshake starts with a record of type 22 (0x16). Anything
   * else (plain HTTP sent to an https port) gets a 400 saying so, instead of an empty reply.
   */
  private readonly sniffTls = (socket: net.Socket): void => {
    if (this.draining) {
      socket.destroy();
      return;
    }
    socket.setTimeout(this.limits.headerTimeoutMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      if (first[0] === 0x16) {
        socket.unshift(first);
        this.tlsServer!.emit('connection', socket);
        return;
      }
      const body = 'This port speaks TLS: use https://\n';
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    });
  };

  forget(conn: ClientConnection): void {
    this.connections.delete(conn);
    this.closeTunnelsIfAlone();
  }

  private readonly onConnection = (socket: net.Socket): void => {
    if (socket.destroyed) return;
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.connections.add(new ClientConnection(socket, this));
  };
}
