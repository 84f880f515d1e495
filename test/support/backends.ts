import http from 'node:http';
import type { Socket } from 'node:net';
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
    return this;
  }

  /** Die like a killed process: every connection reset, the port refuses connections. */
  kill(): Promise<void> {
    for (const s of this.sockets) s.resetAndDestroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Come back on the same port. */
  restart(): Promise<this> {
    return this.listen(this.port);
  }

  close(): Promise<void> {
    return this.kill();
  }
}

const defaultHandler: Handler = (req, res, backend) => {
  req.resume();
  req.once('end', () => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Backend': backend.name });
    res.end(backend.name);
  });
};

/** Start `count` backends on consecutive ports, so one ellipsis pattern names them all. */
export async function startConsecutive(count: number, prefix = 'b', handler?: Handler): Promise<TestBackend[]> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const started: TestBackend[] = [];
    try {
      for (let i = 0; i < count; i++) started.push(await new TestBackend(`${prefix}${i + 1}`, handler).listen(base + i));
      return started;
    } catch {
      await Promise.all(started.map((b) => b.close()));
    }
  }
  throw new Error('no run of free consecutive ports found');
}

export async function startBackends(count: number, prefix = 'b', handler?: Handler): Promise<TestBackend[]> {
  const out: TestBackend[] = [];
  for (let i = 0; i < count; i++) out.push(await new TestBackend(`${prefix}${i + 1}`, handler).listen());
  return out;
}
