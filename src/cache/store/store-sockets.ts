/**
 * Keep-alive connections to the store for reading bodies (body-get.ts), outside node's HTTP client:
 * what a socket reads is handed on as it is, where node's client copies every body chunk once
 * more in its parser. Idle connections are kept a while (most recently used first) and closed
 * when the store closes them or after IDLE_MS.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface SocketTarget {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  /** For https endpoints: the backend TLS options. */
  readonly secureContext?: tls.SecureContext | undefined;
  readonly insecure?: boolean;
}

const MAX_IDLE = 64;
/** Below the idle timeouts of common S3 servers (Swift 60 s, AWS ~20 s), so a reused connection is rarely one the store just closed. */
const IDLE_MS = 10_000;

export class StoreSockets {
  private readonly target: SocketTarget;
  private readonly idle: net.Socket[] = [];
  private closed = false;

  constructor(target: SocketTarget) {
    this.target = target;
  }

  /** An idle connection (reused: the store may have closed it meanwhile) or, if none or `fresh`, a new one. */
  take(fresh: boolean): { socket: net.Socket; reused: boolean } {
    const socket = fresh ? undefined : this.idle.pop();
    if (socket !== undefined) {
      socket.removeAllListeners('close');
      socket.removeAllListeners('error');
      socket.removeAllListeners('timeout');
      socket.setTimeout(0);
      return { socket, reused: true };
    }
    return { socket: this.connect(), reused: false };
  }

  /** A connection whose last answer was read whole, for the next read. */
  release(socket: net.Socket): void {
    if (this.closed || this.idle.length >= MAX_IDLE || socket.destroyed) {
      socket.destroy();
      return;
    }
    const drop = (): void => {
      const at = this.idle.indexOf(socket);
      if (at >= 0) this.idle.splice(at, 1);
      socket.destroy();
    };
    socket.once('close', drop);
    socket.once('error', drop);
    socket.setTimeout(IDLE_MS, drop);
    this.idle.push(socket);
  }

  destroy(): void {
    this.closed = true;
    for (const socket of this.idle.splice(0)) socket.destroy();
  }

  private connect(): net.Socket {
    const { host, port, secure } = this.target;
    const socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) === 0 ? host : undefined, secureContext: this.target.secureContext, rejectUnauthorized: this.target.insecure !== true })
      : net.connect({ host, port });
    socket.setNoDelay(true);
    return socket;
  }
}
