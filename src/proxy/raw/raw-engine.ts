import net from 'node:net';
import type { ListenAddress } from '../../config/types.js';
import type { Engine } from '../engine.js';
import type { ProxyContext } from '../context.js';
import { ClientConnection, type ClientHost, type ClientLimits } from './client-connection.js';

const LIMITS: ClientLimits = {
  maxHeadSize: 16 * 1024,
  headerTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  maxPipelined: 64 * 1024,
};

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

  constructor(ctx: ProxyContext, limits: Partial<ClientLimits> = {}) {
    this.ctx = ctx;
    this.limits = { ...LIMITS, ...limits };
    // allowHalfOpen: a client that shuts down its sending side still receives its answers.
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, this.onConnection);
  }

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
        cut = this.connections.size;
        for (const c of this.connections) c.socket.destroy();
      }, timeoutMs);
      this.server.close(() => {
        clearTimeout(timer);
        resolve(cut);
      });
      for (const c of this.connections) c.closeWhenIdle();
    });
  }

  forget(conn: ClientConnection): void {
    this.connections.delete(conn);
  }

  private readonly onConnection = (socket: net.Socket): void => {
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.connections.add(new ClientConnection(socket, this));
  };
}
