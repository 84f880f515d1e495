import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ListenAddress } from '../config/types.js';
import type { Engine } from './engine.js';
import { type ProxyContext, originForm } from './context.js';
import { Exchange } from './exchange.js';
import { Tunnel } from './tunnel.js';
import { BadRequestHeaders } from './headers.js';
import { replyAndClose } from './raw-response.js';
import type { LocalResponse } from './error-response.js';

/** Limits that keep slow or hostile clients from holding connections forever. */
const LIMITS = {
  /** Whole request head must arrive within this time. */
  headersTimeoutMs: 30_000,
  /** Idle keep-alive connections are closed after this long. */
  keepAliveTimeoutMs: 60_000,
  maxHeaderSize: 16 * 1024,
};

function plain(status: number, message: string): LocalResponse {
  return { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: `${message}\n` };
}

/**
 * The forwarding engine built on node:http (llhttp parses both directions strictly: CL+TE,
 * conflicting Content-Lengths, obs-fold and bare LF are refused before a request reaches us).
 */
export class NodeEngine implements Engine {
  private readonly ctx: ProxyContext;
  private readonly server: http.Server;
  private readonly tunnels = new Set<Duplex>();
  private readonly sockets = new Set<Socket>();
  private draining = false;

  constructor(ctx: ProxyContext) {
    this.ctx = ctx;
    this.server = http.createServer({
      maxHeaderSize: LIMITS.maxHeaderSize,
      headersTimeout: LIMITS.headersTimeoutMs,
      // A 10 GiB upload takes as long as it takes: no whole-request deadline.
      requestTimeout: 0,
      keepAliveTimeout: LIMITS.keepAliveTimeoutMs,
      connectionsCheckingInterval: 1_000,
      requireHostHeader: true,
      joinDuplicateHeaders: false,
    });
    this.server.on('request', this.onRequest);
    // Registering checkContinue stops Node from answering 100 itself: the backend's 100 is relayed.
    this.server.on('checkContinue', this.onRequest);
    this.server.on('upgrade', this.onUpgrade);
    this.server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => replyAndClose(socket, plain(405, 'CONNECT is not supported')));
    this.server.on('clientError', onClientError);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  listen(address: ListenAddress): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: address.host === '' ? undefined : address.host, port: address.port, backlog: 4096 }, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        resolve(typeof a === 'object' && a !== null ? { host: a.address, port: a.port } : { host: address.host, port: address.port });
      });
    });
  }

  drain(timeoutMs: number): Promise<number> {
    this.draining = true;
    return new Promise((resolve) => {
      let cut = 0;
      const timer = setTimeout(() => {
        cut = this.sockets.size;
        for (const s of this.sockets) s.destroy();
      }, timeoutMs);
      this.server.close(() => { clearTimeout(timer); resolve(cut); });
      this.server.closeIdleConnections();
    });
  }

  private readonly onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // While draining, finish this request and then close its connection.
    if (this.draining) res.shouldKeepAlive = false;
    const path = originForm(req.url ?? '');
    if (path === null) {
      sendLocal(res, plain(400, 'bad request target'));
      return;
    }
    const local = this.ctx.local(req.method ?? 'GET', path);
    if (local !== null) {
      sendLocal(res, local);
      return;
    }
    try {
      new Exchange(this.ctx, req, res, path).start();
    } catch (err) {
      if (!(err instanceof BadRequestHeaders)) throw err;
      res.shouldKeepAlive = false;
      sendLocal(res, plain(400, err.message));
    }
  };

  private readonly onUpgrade = (req: http.IncomingMessage, socket: Socket, head: Buffer): void => {
    const path = originForm(req.url ?? '');
    if (path === null || this.draining) {
      replyAndClose(socket, path === null ? plain(400, 'bad request target') : plain(503, 'shutting down'));
      return;
    }
    this.tunnels.add(socket);
    socket.once('close', () => this.tunnels.delete(socket));
    try {
      new Tunnel(this.ctx, req, socket, head, path).start();
    } catch (err) {
      if (!(err instanceof BadRequestHeaders)) throw err;
      replyAndClose(socket, plain(400, err.message));
    }
  };
}

function sendLocal(res: http.ServerResponse, r: LocalResponse): void {
  res.writeHead(r.status, { ...r.headers, 'Content-Length': Buffer.byteLength(r.body) });
  res.end(r.body);
}

/** Malformed requests: answer with the right 4xx and close, so nothing can be smuggled after them. */
function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  replyAndClose(socket, plain(status, http.STATUS_CODES[status] ?? 'Bad Request'));
}
