/**
 * Phases 3 and 4 on the wire: one attempt's hold on a backend connection. It takes a pooled or
 * new connection, writes the request head, hands the connection to the request body, runs the
 * connect timer, passes the connection's events to the body, relay and watchdog, and accounts
 * the attempt when it ends. What a failure means (retry or answer) is the Forwarder's
 * (failures.ts); one instance serves its Forwarder's attempts in turn.
 */
import type { Backend } from '../upstream/backend.js';
import { beginAttempt, endAttempt } from './attempts.js';
import { ProxyError } from './errors.js';
import { UpstreamPool, type UpstreamConnection, type UpstreamOwner } from './raw/upstream-pool.js';
import type { ProxyRequest } from './request.js';
import type { RequestBody } from './request-body.js';
import type { ResponseRelay } from './response-relay.js';
import { replayable } from './retry.js';
import type { UpstreamWatchdog } from './watchdog.js';

/**
 * A request that cannot be sent twice does not go onto a pooled connection idle longer than
 * this: such a connection is the one a backend's keep-alive timeout may be closing right now
 * (Node servers close after 5 s), and losing that race would cost the client a 502.
 */
const MAX_IDLE_FOR_UNREPLAYABLE_MS = 1_000;

function poolOf(b: Backend): UpstreamPool {
  return (b.pool ??= new UpstreamPool(b)) as UpstreamPool;
}

/** What an attempt reports to its forwarder. */
export interface AttemptOwner {
  /** The attempt's connection ended or failed (its connect timer is already stopped); err is null for a clean EOF. */
  upstreamClosed(conn: UpstreamConnection, err: (Error & { code?: string }) | null): void;
}

export class UpstreamAttempt implements UpstreamOwner {
  private readonly connectTimeoutMs: number;
  private readonly body: RequestBody;
  private readonly relay: ResponseRelay;
  private readonly watchdog: UpstreamWatchdog;
  private readonly owner: AttemptOwner;
  /** The backend of the attempt in progress; null once it is accounted (end()). */
  backend: Backend | null = null;
  /** The connection of the attempt in progress; null once it is dropped. */
  conn: UpstreamConnection | null = null;
  private startedAt = 0;
  private connectTimer: NodeJS.Timeout | null = null;

  constructor(connectTimeoutMs: number, body: RequestBody, relay: ResponseRelay, watchdog: UpstreamWatchdog, owner: AttemptOwner) {
    this.connectTimeoutMs = connectTimeoutMs;
    this.body = body;
    this.relay = relay;
    this.watchdog = watchdog;
    this.owner = owner;
  }

  /** No connection held and no timer pending. */
  get idle(): boolean {
    return this.conn === null && this.connectTimer === null;
  }

  /** Sends `req` to `b`; `fresh`: on a new connection (after a stale pooled one). */
  open(req: ProxyRequest, b: Backend, fresh: boolean): void {
    this.backend = b;
    beginAttempt(b);
    this.startedAt = performance.now();
    // A request that cannot be sent twice avoids the connections a backend may be closing.
    const maxIdle = replayable(req.method, req.hasBody) ? 0 : MAX_IDLE_FOR_UNREPLAYABLE_MS;
    const conn = poolOf(b).acquire(this, fresh, maxIdle);
    this.conn = conn;
    conn.write(req.upstreamHead(b));
    this.body.attach(conn);
    this.requestOnWire();
    if (!conn.connected) this.connectTimer = setTimeout(this.onConnectTimeout, this.connectTimeoutMs);
  }

  /** The response clock starts once the whole request went to an open connection. */
  requestOnWire(): void {
    if (this.body.done && this.conn !== null && this.conn.connected) this.watchdog.requestSent();
  }

  /** The response head arrived: the backend's time to first byte. */
  recordTtfb(): void {
    this.backend?.stats.recordTtfb(performance.now() - this.startedAt);
  }

  /** Read the response on (paused for the client's or a tap's backpressure). */
  resume(): void {
    this.conn?.socket.resume();
  }

  private readonly onConnectTimeout = (): void => {
    this.connectTimer = null;
    this.conn?.socket.destroy(new ProxyError('UPSTREAM_CONNECT_TIMEOUT', `connect timeout after ${this.connectTimeoutMs} ms`));
  };

  clearConnectTimer(): void {
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
  }

  /** Ends the attempt's hold on its connection: pooled again when `reuse`, else closed. */
  drop(reuse: boolean): void {
    const conn = this.conn;
    if (conn === null) return;
    this.conn = null;
    this.body.detach();
    if (reuse) conn.release();
    else conn.destroy();
  }

  /** Accounts the attempt on its backend (once; later calls do nothing). `failed`: counts as an error. */
  end(req: ProxyRequest, failed: boolean): void {
    this.watchdog.stop();
    const b = this.backend;
    if (b === null) return;
    this.backend = null;
    endAttempt(b, this.startedAt, this.body.dataBytes(req.rx), this.relay.dataBytes(req.tx), failed || req.status >= 500);
  }

  // ---- the connection's events (UpstreamOwner) ----

  onUpstreamConnect(conn: UpstreamConnection): void {
    if (conn !== this.conn) return;
    this.clearConnectTimer();
    this.body.connected();
    this.requestOnWire();
  }

  onUpstreamDrain(conn: UpstreamConnection): void {
    if (conn !== this.conn) return;
    this.watchdog.read();
    this.body.upstreamDrained();
  }

  onUpstreamData(conn: UpstreamConnection, buf: Buffer, n: number): boolean {
    if (conn !== this.conn) return true;
    this.watchdog.read();
    return this.relay.data(conn, buf, n);
  }

  onUpstreamClose(conn: UpstreamConnection, err: (Error & { code?: string }) | null): void {
    if (conn !== this.conn) return;
    this.clearConnectTimer();
    this.owner.upstreamClosed(conn, err);
  }
}
