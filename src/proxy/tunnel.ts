import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Backend } from '../upstream/backend.js';
import { backendDown, badGateway } from './error-response.js';
import {
  BadRequestHeaders, MAX_RESPONSE_HEAD_BYTES, authority, checkRequestHeaders, clientAddress, downstreamResponseHeaders, upstreamRequestHeaders,
} from './headers.js';
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
  /** Content-Length of the request body; 0 for the usual bodiless handshake. */
  private readonly bodyLength: number;
  private bodyStarted = false;

  constructor(ctx: ProxyContext, req: http.IncomingMessage, socket: Duplex, head: Buffer, path: string) {
    this.ctx = ctx;
    this.req = req;
    this.socket = socket;
    this.head = head;
    this.path = path;
    // Throws BadRequestHeaders here, where the engine answers 400, not after the startup gate.
    checkRequestHeaders(req.rawHeaders);
    // node:http hands over the socket with the body still on it, undecoded: only a counted body
    // can be forwarded from here.
    if (req.headers['transfer-encoding'] !== undefined) throw new BadRequestHeaders('an Upgrade request with a chunked body is not supported');
    this.bodyLength = Number(req.headers['content-length'] ?? 0);
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
    // An Upgrade on a request with a body (Java's HttpClient tries h2c on its first PUT) used to
    // hang: the body stayed on the client socket while the backend waited for it. Such a request
    // is forwarded as a plain one with its body, without the Upgrade, which a hop may drop (RFC
    // 9110 §7.8); the backend's answer is relayed like any refused upgrade.
    const withBody = this.bodyLength > 0;
    const headers = upstreamRequestHeaders(this.req.rawHeaders, {
      clientIp: clientAddress(this.req.socket.remoteAddress), proto: this.ctx.proto,
      upgrade: withBody ? null : this.req.headers.upgrade ?? 'websocket', defaultHost: authority(b.spec),
    });
    const options: http.RequestOptions = {
      agent: false, host: b.spec.hostname, port: b.spec.port, method: this.req.method,
      path: b.spec.basePath + this.path, headers, setHost: false,
      timeout: this.ctx.connectTimeoutMs, maxHeaderSize: MAX_RESPONSE_HEAD_BYTES,
    };
    const up = b.spec.protocol === 'https:' ? https.request({ ...options, rejectUnauthorized: b.verifyTls }) : http.request(options);
    up.once('timeout', () => up.destroy(Object.assign(new Error('connect timeout'), { code: 'ECONNECTTIMEOUT' })));
    up.once('upgrade', (ures, usock, uhead) => this.splice(b, ures, usock, uhead));
    up.once('response', (ures) => this.refused(ures));
    up.on('error', (err: Error & { code?: string }) => this.failed(b, err));
    this.socket.once('close', () => up.destroy());
    if (!withBody) {
      up.end();
      return;
    }
    // Read the body only once connected, so a failed connect consumed nothing and can be retried.
    up.once('socket', (s: Socket) => {
      if (s.connecting) s.once('connect', () => this.sendBody(up));
      else this.sendBody(up);
    });
  }

  /** Copy exactly Content-Length bytes (what came with the head, then the socket) to the backend. */
  private sendBody(up: http.ClientRequest): void {
    this.bodyStarted = true;
    const client = this.socket;
    let left = this.bodyLength;
    const first = this.head.subarray(0, left);
    left -= first.length;
    if (left === 0) {
      up.end(first);
      return;
    }
    if (first.length > 0) up.write(first);
    const onData = (chunk: Buffer): void => {
      const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
      left -= part.length;
      if (left === 0) {
        // Anything after the body is not forwarded: the answer ends this connection.
        client.off('data', onData);
        client.pause();
        up.end(part);
      } else if (!up.write(part)) {
        client.pause();
        up.once('drain', () => client.resume());
      }
    };
    client.on('data', onData);
    client.resume();
  }

  private splice(b: Backend, ures: http.IncomingMessage, usock: Duplex, uhead: Buffer): void {
    const client = this.socket;
    (usock as Socket).setTimeout(0);
    b.inFlight++;
    client.write(responseHead(101, ures.statusMessage, downstreamResponseHeaders(ures.rawHeaders, true)));
    if (uhead.length > 0) client.write(uhead);
    // After a body (a backend that upgraded without being asked) only what followed it is left.
    const rest = this.bodyStarted ? this.head.subarray(Math.min(this.bodyLength, this.head.length)) : this.head;
    if (rest.length > 0) usock.write(rest);
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
    if (isConnectError(err.code) && !this.bodyStarted && this.attempts < this.ctx.maxAttempts) {
      (this.tried ??= []).push(b);
      this.attempt();
      return;
    }
    replyAndClose(this.socket, badGateway(reason, this.path));
  }
}
