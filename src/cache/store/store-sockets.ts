/**
 * Keep-alive connections to the store for reading bodies (body-get.ts), outside node's HTTP client:
 * what a socket reads is handed on as it is, where node's client copies every body chunk once
 * more in its parser. Idle connections are kept a while (most recently used first) and closed
 * when the store closes them or after IDLE_MS. Connections in use are capped, as node's agent
 * capped them before: a burst of hits waits for a connection instead of opening one each.
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
/** Connections in use at once (the cap node's agent had for the store before these raw reads). */
export const MAX_BUSY = 256;
/** Below the idle timeouts of common S3 servers (Swift 60 s, AWS ~20 s), so a reused connection is rarely one the store just closed. */
const IDLE_MS = 10_000;

export class StoreSockets {
  private readonly target: SocketTarget;
  private readonly maxBusy: number;
  private readonly idle: net.Socket[] = [];
  /** Connections handed out and neither released nor closed yet. */
  private readonly busy = new Set<net.Socket>();
  /** take() calls waiting for a connection to come free, first come first served. */
  private readonly waiting: (() => void)[] = [];
  /** One listener for every busy connection ('close' calls it with the socket as `this`). */
  private readonly closedWhileBusy: (this: net.Socket) => void;
  private closed = false;

  constructor(target: SocketTarget, maxBusy = MAX_BUSY) {
    this.target = target;
    this.maxBusy = maxBusy;
    const sockets = this;
    this.closedWhileBusy = function (this: net.Socket): void {
      sockets.free(this);
    };
  }

  /** Connections in use now. */
  get inUse(): number {
    return this.busy.size;
  }

  /**
   * An idle connection (reused: the store may have closed it meanwhile) or, if none or `fresh`, a
   * new one; waits while MAX_BUSY are in use. Give it back with release(), or destroy it.
   */
  async take(fresh: boolean): Promise<{ socket: net.Socket; reused: boolean }> {
    while (this.busy.size >= this.maxBusy && !this.closed) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.closed) throw new Error('the store client is closed');
    let socket = fresh ? undefined : this.idle.pop();
    const reused = socket !== undefined;
    if (socket !== undefined) {
      socket.removeAllListeners('close');
      socket.removeAllListeners('error');
      socket.removeAllListeners('timeout');
      socket.setTimeout(0);
    } else {
      socket = this.connect();
    }
    this.busy.add(socket);
    socket.once('close', this.closedWhileBusy);
    return { socket, reused };
  }

  /** A connection whose last answer was read whole, for the next read. */
  release(socket: net.Socket): void {
    socket.off('close', this.closedWhileBusy);
    this.free(socket);
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
    for (const wake of this.waiting.splice(0)) wake();
  }

  /** A busy connection was given back or closed: the longest waiter may take one. */
  private free(socket: net.Socket): void {
    if (this.busy.delete(socket)) this.waiting.shift()?.();
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
