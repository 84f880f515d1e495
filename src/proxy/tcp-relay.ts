/**
 * A plain TCP relay over a changing set of targets (Sidecar's `tcp` ProxyMode, which it had
 * HAProxy do): each accepted connection goes to the next target in turn; a target that refuses or
 * does not answer within the connect timeout is skipped for the next, each target tried at most
 * once; then bytes flow both ways untouched, half-closes passed on.
 */
import net from 'node:net';

export interface TcpTarget { readonly host: string; readonly port: number }

export class TcpRelay {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private next = 0;

  /** `targets`: asked at each connection, so it follows the catalog. */
  constructor(private readonly targets: () => readonly TcpTarget[], private readonly connectTimeoutMs: number,
    private readonly log: (message: string) => void) {
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => this.accept(client));
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops accepting; connections under way are cut after `graceMs`. */
  close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const timer = setTimeout(() => { for (const s of this.sockets) s.destroy(); }, graceMs);
    timer.unref();
    return closed.finally(() => clearTimeout(timer));
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  private accept(client: net.Socket): void {
    this.track(client);
    client.on('error', () => client.destroy());
    client.pause();
    const list = this.targets();
    const start = this.next++;
    const attempt = (tried: number): void => {
      if (client.destroyed) return;
      if (tried >= list.length) {
        client.destroy();
        return;
      }
      const t = list[(start + tried) % list.length]!;
      const upstream = net.connect({ host: t.host, port: t.port, allowHalfOpen: true, noDelay: true });
      this.track(upstream);
      const timer = setTimeout(() => upstream.destroy(new Error(`no connection within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
      const failed = (err: Error): void => {
        clearTimeout(timer);
        this.log(`tcp relay: ${t.host}:${t.port}: ${err.message}`);
        attempt(tried + 1);
      };
      upstream.once('error', failed);
      upstream.once('connect', () => {
        clearTimeout(timer);
        upstream.off('error', failed);
        this.join(client, upstream);
      });
    };
    attempt(0);
  }

  /** Both ways, with backpressure; an error or close on either side ends both. */
  private join(client: net.Socket, upstream: net.Socket): void {
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', end);
    client.on('error', end);
    client.once('close', end);
    upstream.once('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }
}
