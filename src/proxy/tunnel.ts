import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Backend } from '../upstream/backend.js';
import { backendDown, badGateway } from './error-response.js';
import { checkRequestHeaders, clientAddress, downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';
import { isConnectError, type ProxyContext } from './context.js';
import { replyAndClose, responseHead } from './raw-response.js';

/**
 * An Upgrade request (WebSocket and friends): the handshake is forwarded like any request, and on
 * 101 the two sockets are spliced together both ways until either side closes.
 */
export class Tunnel {
  private readonly ctx: ProxyContext;
  private readonly req: http.IncomingMessage;
  private readonly socket: Duplex;
  private readonly head: Buffer;
  private readonly path: string;
  private tried: Backend[] | null = null;
  private attempts = 0;

  constructor(ctx: ProxyContext, req: http.IncomingMessage, socket: Duplex, head: Buffer, path: string) {
    this.ctx = ctx;
    this.req = req;
    this.socket = socket;
    this.head = head;
    this.path = path;
    // Throws BadRequestHeaders here, where the engine answers 400, not after the startup gate.
    checkRequestHeaders(req.rawHeaders);
    socket.on('error', () => socket.destroy());
  }

  start(): void {
    if (this.ctx.startup.open) this.attempt();
    else void this.ctx.startup.wait().then(() => this.attempt());
  }

  private attempt(): void {
    const b = this.ctx.upstreams.pick(this.tried);
    if (b === null) {
      replyAndClose(this.socket, backendDown(this.path));
      return;
    }
    this.attempts++;
    b.stats.requests++;
    const headers = upstreamRequestHeaders(this.req.rawHeaders, {
      clientIp: clientAddress(this.req.socket.remoteAddress), proto: this.ctx.proto,
      upgrade: this.req.headers.upgrade ?? 'websocket', defaultHost: b.spec.hostname,
    });
    const options: http.RequestOptions = {
      agent: false, host: b.spec.hostname, port: b.spec.port, method: this.req.method,
      path: b.spec.basePath + this.path, headers, setHost: false,
      timeout: this.ctx.connectTimeoutMs,
    };
    const up = b.spec.protocol === 'https:' ? https.request({ ...options, rejectUnauthorized: b.verifyTls }) : http.request(options);
    up.once('timeout', () => up.destroy(Object.assign(new Error('connect timeout'), { code: 'ECONNECTTIMEOUT' })));
    up.once('upgrade', (ures, usock, uhead) => this.splice(b, ures, usock, uhead));
    up.once('response', (ures) => this.refused(ures));
    up.on('error', (err: Error & { code?: string }) => this.failed(b, err));
    this.socket.once('close', () => up.destroy());
    up.end();
  }

  private splice(b: Backend, ures: http.IncomingMessage, usock: Duplex, uhead: Buffer): void {
    const client = this.socket;
    (usock as Socket).setTimeout(0);
    b.inFlight++;
    client.write(responseHead(101, ures.statusMessage, downstreamResponseHeaders(ures.rawHeaders, true)));
    if (uhead.length > 0) client.write(uhead);
    if (this.head.length > 0) usock.write(this.head);
    usock.on('data', (chunk: Buffer) => { b.stats.txBytes += chunk.length; });
    client.on('data', (chunk: Buffer) => { b.stats.rxBytes += chunk.length; });
    usock.pipe(client);
    client.pipe(usock);
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      b.inFlight--;
      b.lastFinished = performance.now();
      client.destroy();
      usock.destroy();
    };
    usock.on('error', close).on('close', close);
    client.on('error', close).on('close', close);
  }

  /** The backend answered the handshake without upgrading: relay that answer, close-delimited. */
  private refused(ures: http.IncomingMessage): void {
    const raw = downstreamResponseHeaders(ures.rawHeaders, false).filter((_, i, a) => {
      const name = (i % 2 === 0 ? a[i] : a[i - 1])!.toLowerCase();
      return name !== 'content-length';
    });
    raw.push('Connection', 'close');
    this.socket.write(responseHead(ures.statusCode ?? 502, ures.statusMessage, raw));
    ures.pipe(this.socket);
  }

  private failed(b: Backend, err: Error & { code?: string }): void {
    const reason = err.code !== undefined ? `${err.code}: ${err.message}` : err.message;
    if (!this.socket.writable) return;
    this.ctx.upstreams.requestFailed(b, reason);
    b.stats.errors++;
    if (isConnectError(err.code) && this.attempts < this.ctx.maxAttempts) {
      (this.tried ??= []).push(b);
      this.attempt();
      return;
    }
    replyAndClose(this.socket, badGateway(reason, this.path));
  }
}
