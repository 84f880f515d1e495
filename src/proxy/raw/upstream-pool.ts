import net from 'node:net';
import tls from 'node:tls';
import type { Backend } from '../../upstream/backend.js';

/**
 * Bytes read from a backend per read call; each connection owns one such buffer. It starts small
 * (most answers are small, and idle pools should cost little) and grows while reads fill it:
 * a large body then moves in 1 MiB reads, which measured ~20% more throughput than 64 KiB ones
 * (fewer read and write system calls per byte).
 */
const MIN_READ = 16 * 1024;
const MAX_READ = 1024 * 1024;
/** sidekick's transport: at most 1024 idle connections per backend, closed after 15 s idle. */
const MAX_IDLE = 1024;

/**
 * When idle connections close. A sweep per pool instead of a socket timeout per connection:
 * node re-arms a socket's timeout on every read and write (~1.5 µs per request of CPU-profile
 * self time on the HTTP/2 small row; no end-to-end change could be told apart from noise).
 * An idle connection closes between idleMs and idleMs + sweepMs after its last use.
 */
export interface IdleTiming {
  readonly idleMs: number;
  readonly sweepMs: number;
}
const IDLE_TIMING: IdleTiming = { idleMs: 15_000, sweepMs: 5_000 };

/** What a connection reports to the request (the forwarding core) that currently owns it. */
export interface UpstreamOwner {
  onUpstreamConnect(conn: UpstreamConnection): void;
  /**
   * Bytes buf[0, n) just read. The buffer is reused for the next read unless the owner calls
   * conn.retainReadBuffer() (because a write still references it). Return false to pause reading.
   */
  onUpstreamData(conn: UpstreamConnection, buf: Buffer, n: number): boolean;
  onUpstreamDrain(conn: UpstreamConnection): void;
  /** The connection ended or failed; err is null for a clean EOF from the backend. */
  onUpstreamClose(conn: UpstreamConnection, err: (Error & { code?: string }) | null): void;
}

/**
 * One keep-alive connection to a backend. Reads go straight into a buffer this connection owns
 * (`onread`), so a body relayed to a client that accepts it at once costs no allocation.
 */
export class UpstreamConnection {
  readonly socket: net.Socket;
  readonly pool: UpstreamPool;
  owner: UpstreamOwner | null = null;
  /** Taken from the idle pool: it may have been closed by the backend meanwhile. */
  reused = false;
  /** Backend.addressEpoch when this connection was made. */
  readonly addressEpoch: number;
  connected = false;
  closed = false;
  /** performance.now() when it last went back to the idle pool. */
  idleSince = 0;
  private readSize = MIN_READ;
  private readBuffer: Buffer = Buffer.allocUnsafe(MIN_READ);

  constructor(pool: UpstreamPool, backend: Backend) {
    this.pool = pool;
    this.addressEpoch = backend.addressEpoch;
    const spec = backend.spec;
    const onread = { buffer: this.nextReadBuffer, callback: this.onRead };
    this.socket = spec.protocol === 'https:'
      ? tls.connect({
        host: spec.hostname, port: spec.port, servername: net.isIP(spec.hostname) === 0 ? spec.hostname : undefined,
        rejectUnauthorized: backend.verifyTls, ALPNProtocols: ['http/1.1'], onread, lookup: backend.lookup,
        secureContext: backend.tls.secureContext, // --cacert, --client-cert/--client-key
      } as tls.ConnectionOptions)
      : net.connect({ host: spec.hostname, port: spec.port, noDelay: true, onread, lookup: backend.lookup });
    this.socket.setNoDelay(true);
    this.socket.once(spec.protocol === 'https:' ? 'secureConnect' : 'connect', this.onConnect);
    this.socket.on('drain', this.onDrain);
    this.socket.on('end', this.onEnd);
    this.socket.on('error', this.onError);
    this.socket.on('close', this.onClosed);
  }

  /** A write still holds a slice of the read buffer: read the next bytes somewhere else. */
  retainReadBuffer(): void {
    this.readBuffer = Buffer.allocUnsafe(this.readSize);
  }

  write(data: Buffer | string): boolean {
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data);
  }

  /** Give the connection back for reuse (only after a complete, cleanly framed exchange). */
  release(): void {
    this.owner = null;
    this.idleSince = performance.now();
    // Reading may have been paused for a slow client: an idle connection must notice a close.
    if (this.socket.isPaused()) this.socket.resume();
    this.pool.putIdle(this);
  }

  destroy(): void {
    this.owner = null;
    this.closed = true;
    this.socket.destroy();
  }

  private readonly nextReadBuffer = (): Buffer => this.readBuffer;

  private readonly onRead = (n: number, buf: Buffer): boolean => {
    const owner = this.owner;
    // Bytes on an idle connection are not an answer to anything: never reuse it.
    if (owner === null) {
      this.destroy();
      return false;
    }
    const flowing = owner.onUpstreamData(this, buf, n);
    if (n === buf.length && this.readSize < MAX_READ && this.owner !== null) {
      this.readSize *= 4;
      this.readBuffer = Buffer.allocUnsafe(this.readSize);
    }
    return flowing;
  };

  private readonly onConnect = (): void => {
    this.connected = true;
    this.owner?.onUpstreamConnect(this);
  };

  private readonly onDrain = (): void => {
    this.owner?.onUpstreamDrain(this);
  };

  private readonly onEnd = (): void => {
    this.finish(null);
  };

  private readonly onError = (err: Error): void => {
    this.finish(err);
  };

  private readonly onClosed = (): void => {
    this.finish(null);
  };

  private finish(err: Error | null): void {
    const owner = this.owner;
    this.owner = null;
    if (!this.closed) {
      this.closed = true;
      this.socket.destroy();
    }
    this.pool.forget(this);
    owner?.onUpstreamClose(this, err);
  }
}

/** The connections to one backend: idle ones on a stack (the most recently used first). */
export class UpstreamPool {
  private readonly backend: Backend;
  private readonly idle: UpstreamConnection[] = [];
  private draining = false;
  /** Runs while the pool holds idle connections (unref'd: it never keeps the process alive). */
  private sweeper: NodeJS.Timeout | null = null;

  private readonly timing: IdleTiming;

  constructor(backend: Backend, timing: IdleTiming = IDLE_TIMING) {
    this.backend = backend;
    this.timing = timing;
  }

  /**
   * An idle connection, or a new one that is connecting (the owner hears onUpstreamConnect).
   * `maxIdleMs` > 0 refuses connections idle longer than that: the most recently used one is on
   * top, so if it is too old, all are, and they stay for requests that can be replayed.
   */
  acquire(owner: UpstreamOwner, fresh = false, maxIdleMs = 0): UpstreamConnection {
    while (!fresh) {
      const conn = this.idle.pop();
      if (conn === undefined) break;
      if (conn.closed) continue;
      if (maxIdleMs > 0 && performance.now() - conn.idleSince > maxIdleMs) {
        this.idle.push(conn);
        break;
      }
      conn.owner = owner;
      conn.reused = true;
      return conn;
    }
    const conn = new UpstreamConnection(this, this.backend);
    conn.owner = owner;
    return conn;
  }

  putIdle(conn: UpstreamConnection): void {
    // An older address epoch: the host name's answer changed since this connection was made.
    if (conn.closed || this.draining || this.idle.length >= MAX_IDLE || conn.addressEpoch !== this.backend.addressEpoch) {
      conn.destroy();
      return;
    }
    this.idle.push(conn);
    if (this.sweeper === null) {
      this.sweeper = setInterval(this.sweep, this.timing.sweepMs);
      this.sweeper.unref();
    }
  }

  /** Closes the connections idle longer than idleMs: the oldest are at the bottom of the stack. */
  private readonly sweep = (): void => {
    const oldest = performance.now() - this.timing.idleMs;
    let n = 0;
    while (n < this.idle.length && this.idle[n]!.idleSince < oldest) n++;
    for (const c of this.idle.splice(0, n)) c.destroy();
    if (this.idle.length === 0) this.stopSweeping();
  };

  private stopSweeping(): void {
    if (this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  forget(conn: UpstreamConnection): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** Close the idle connections (busy ones go on and are pooled again when done). */
  closeIdle(): void {
    this.stopSweeping();
    for (const c of this.idle.splice(0)) c.destroy();
  }

  /**
   * The backend is leaving: idle connections close now, busy ones finish their exchange and then
   * close instead of going back to the pool. In-flight requests are never cut.
   */
  drain(): void {
    this.draining = true;
    this.closeIdle();
  }

  /** Idle connections held now. */
  get idleCount(): number {
    return this.idle.length;
  }

  /** drain() was called. */
  get isDraining(): boolean {
    return this.draining;
  }
}
