import net from 'node:net';
import type { ListenAddress } from '../../config/types.js';
import type { Engine } from '../engine.js';
import type { ProxyContext } from '../context.js';
import { ClientConnection, type ClientHost, type ClientLimits } from './client-connection.js';
import { H2Sessions } from '../h2/h2-sessions.js';
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
  private readonly server: net.Server;
  private readonly connections = new Set<ClientConnection>();
  /** HTTP/2 connections: only over TLS, when the client asks for 'h2' by ALPN. */
  private readonly h2: H2Sessions | null;

  /** `serving`: listen with TLS (--cert/--key, --auto-tls-host); the same ClientConnection runs on each TLSSocket. */
  constructor(ctx: ProxyContext, timeouts: Pick<ClientLimits, 'headerTimeoutMs' | 'idleTimeoutMs'>, serving: ServingTls | null = null) {
    this.ctx = ctx;
    this.limits = { ...FIXED_LIMITS, ...timeouts };
    // allowHalfOpen: a client that shuts down its sending side still receives its answers.
    const netOptions = { allowHalfOpen: true, noDelay: true };
    this.h2 = serving === null ? null : new H2Sessions(() => this.closeTunnelsIfAlone(), ctx, { idleTimeoutMs: this.limits.idleTimeoutMs, maxHeaderListSize: 2 * this.limits.maxHeadSize });
    this.server = serving === null
      ? net.createServer(netOptions, this.onConnection)
      : serving.createServer(netOptions, this.onConnection, this.h2, (message) => ctx.console.info(message));
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
        cut = this.connections.size + (this.h2?.destroyAll() ?? 0);
        for (const c of this.connections) c.socket.destroy();
      }, timeoutMs);
      this.server.close(() => {
        clearTimeout(timer);
        resolve(cut);
      });
      for (const c of this.connections) c.closeWhenIdle();
      this.h2?.drain();
      this.closeTunnelsIfAlone();
    });
  }

  /**
   * While draining: once every HTTP exchange has finished (HTTP/1.1 and HTTP/2 alike), the
   * tunnels left (WebSockets) are closed on both sides. Closing frames are the backend's
   * business; a drain must not wait the whole shutdown timeout for a socket that never idles.
   */
  private closeTunnelsIfAlone(): void {
    if (!this.draining || (this.h2?.size ?? 0) > 0) return;
    for (const c of this.connections) if (!c.inTunnel) return;
    for (const c of this.connections) c.socket.destroy();
  }

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
