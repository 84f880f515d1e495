import http from 'node:http';
import type { Socket } from 'node:net';
import { after } from 'node:test';
import { listenLoopback } from './cleanup.js';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, backend: TestBackend) => void;

/**
 * A real HTTP backend on 127.0.0.1 for integration tests. By default `/health` answers 200
 * while `healthy` is true (503 otherwise) and every other path answers 200 with the backend's
 * name in the body and in `X-Backend`.
 */
export class TestBackend {
  readonly name: string;
  port = 0;
  healthy = true;
  /** When set, health checks are answered only after it resolves. */
  healthGate: Promise<void> | null = null;
  hits = 0;
  healthHits = 0;
  handler: Handler;
  readonly server: http.Server;
  private readonly sockets = new Set<Socket>();

  constructor(name: string, handler?: Handler) {
    this.name = name;
    this.handler = handler ?? defaultHandler;
    this.server = http.createServer((req, res) => {
      if (req.url === '/health') {
        this.healthHits++;
        const answer = (): void => { res.writeHead(this.healthy ? 200 : 503).end(this.healthy ? 'ok' : 'unhealthy'); };
        if (this.healthGate === null) answer();
        else void this.healthGate.then(answer);
        return;
      }
      this.hits++;
      this.handler(req, res, this);
    });
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(port = 0): Promise<this> {
    this.port = await listenLoopback(this.server, port);
    listened.add(this);
    return this;
  }

  /** Die like a killed process: every connection reset, the port refuses connections. */
  kill(): Promise<void> {
    for (const s of this.sockets) s.resetAndDestroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Come back on the same port. The port was free while this backend was down, so another program
   * may have taken it: say so, rather than let a test read that program's answers as ours.
   */
  async restart(): Promise<this> {
    try {
      return await this.listen(this.port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      throw new Error(`port ${this.port} of backend ${this.name} was taken by another program while the backend was down; this run cannot restart it`);
    }
  }

  close(): Promise<void> {
    return this.kill();
  }
}

/**
 * Every backend this test file listened with, closed once its tests are done, whether a test
 * tracked it or not: a test that failed before tracking one (its Outrigger did not start, say)
 * would otherwise leave it listening, and the file running until its timeout.
 */
const listened = new Set<TestBackend>();
after(async () => { await Promise.all([...listened].map((b) => b.close())); });

const defaultHandler: Handler = (req, res, backend) => {
  req.resume();
  req.once('end', () => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Backend': backend.name });
    res.end(backend.name);
  });
};

/**
 * Start `count` backends on consecutive ports, so one ellipsis pattern names them all. Only the
 * tests of that syntax need this; everything else lets the kernel pick (startBackends). The first
 * port is the kernel's choice (a free one), the next ones are bound and held at once: a port
 * another program holds fails to bind and the whole run is tried again elsewhere, and no program
 * can take one while the test holds it. Each backend answers with its own name, so a test never
 * mistakes another program for one of these.
 */
export async function startConsecutive(count: number, prefix = 'b', handler?: Handler): Promise<TestBackend[]> {
  const busy: number[] = [];
  for (let tries = 0; tries < 50; tries++) {
    const started = [await new TestBackend(`${prefix}1`, handler).listen(0)];
    const base = started[0]!.port;
    try {
      if (base + count - 1 > 65_535) throw Object.assign(new Error('past the last port'), { code: 'EADDRINUSE', port: 65_536 });
      for (let i = 1; i < count; i++) started.push(await new TestBackend(`${prefix}${i + 1}`, handler).listen(base + i));
      return started;
    } catch (err) {
      await Promise.all(started.map((b) => b.close()));
      const e = err as NodeJS.ErrnoException & { port?: number };
      if (e.code !== 'EADDRINUSE' && e.code !== 'EACCES') throw err;
      busy.push(e.port ?? base);
    }
  }
  throw new Error(`no ${count} consecutive free ports on 127.0.0.1 in 50 tries (taken by other programs: ${busy.join(', ')})`);
}

export async function startBackends(count: number, prefix = 'b', handler?: Handler): Promise<TestBackend[]> {
  const out: TestBackend[] = [];
  for (let i = 0; i < count; i++) out.push(await new TestBackend(`${prefix}${i + 1}`, handler).listen());
  return out;
}
