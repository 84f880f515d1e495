/**
 * Byte-level HTTP/1.1 for tests that must see (or send) exactly what is on the wire: a tiny
 * message parser, a raw client socket and a raw backend. Deliberately independent of node:http,
 * so the proxy is judged by bytes, not by what Node's own parser would forgive.
 */
import net from 'node:net';
import { listenLoopback } from './cleanup.js';
import type { AddressInfo } from 'node:net';

export type HeaderList = [string, string][];

export interface WireMessage {
  /** Request: method, target, version. Response: version, status, reason. */
  readonly startLine: string;
  readonly headers: HeaderList;
  readonly body: Buffer;
  readonly trailers: HeaderList;
  /** Bytes this message took on the wire, head included. */
  readonly size: number;
}

export interface WireResponse extends WireMessage {
  readonly status: number;
  readonly reason: string;
}

export interface WireRequest extends WireMessage {
  readonly method: string;
  readonly target: string;
}

/** Every value of a header, by case-insensitive name. */
export function all(headers: HeaderList, name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/** The one value of a header (undefined when absent); throws when it appears more than once. */
export function one(headers: HeaderList, name: string): string | undefined {
  const values = all(headers, name);
  if (values.length > 1) throw new Error(`${name} appears ${values.length} times: ${JSON.stringify(values)}`);
  return values[0];
}

const CRLF2 = Buffer.from('\r\n\r\n');

function parseHead(buf: Buffer): { startLine: string; headers: HeaderList; headEnd: number } | null {
  const end = buf.indexOf(CRLF2);
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const headers: HeaderList = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`malformed header line ${JSON.stringify(line)}`);
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return { startLine: lines[0]!, headers, headEnd: end + 4 };
}

/** Chunked body from `start`: the body, the trailers and where the message ends; null if incomplete. */
function parseChunked(buf: Buffer, start: number): { body: Buffer; trailers: HeaderList; end: number } | null {
  const parts: Buffer[] = [];
  let pos = start;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', pos);
    if (lineEnd < 0) return null;
    const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1').split(';')[0]!.trim(), 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size line at ${pos}`);
    pos = lineEnd + 2;
    if (size === 0) break;
    if (buf.length < pos + size + 2) return null;
    parts.push(buf.subarray(pos, pos + size));
    if (buf.subarray(pos + size, pos + size + 2).toString('latin1') !== '\r\n') throw new Error('chunk not followed by CRLF');
    pos += size + 2;
  }
  const trailers: HeaderList = [];
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', pos);
    if (lineEnd < 0) return null;
    const line = buf.subarray(pos, lineEnd).toString('latin1');
    pos = lineEnd + 2;
    if (line === '') break;
    const colon = line.indexOf(':');
    trailers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return { body: Buffer.concat(parts), trailers, end: pos };
}

/**
 * The message at the start of `buf`, or null while it is incomplete. Responses to HEAD, 1xx,
 * 204 and 304 have no body whatever their headers say; a response without length runs to `closed`.
 */
export function parseMessage(buf: Buffer, kind: 'request' | 'response', opts: { method?: string; closed?: boolean } = {}): WireMessage | null {
  const head = parseHead(buf);
  if (head === null) return null;
  const { startLine, headers, headEnd } = head;
  const done = (body: Buffer, trailers: HeaderList, end: number): WireMessage => ({ startLine, headers, body, trailers, size: end });
  let noBody = false;
  if (kind === 'response') {
    const status = Number(startLine.split(' ')[1]);
    noBody = opts.method === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304;
  }
  if (noBody) return done(Buffer.alloc(0), [], headEnd);
  const te = all(headers, 'transfer-encoding');
  if (te.length > 0 && /chunked\s*$/i.test(te.join(','))) {
    const c = parseChunked(buf, headEnd);
    return c === null ? null : done(c.body, c.trailers, c.end);
  }
  const cl = all(headers, 'content-length');
  if (cl.length > 0) {
    const n = Number(cl[0]);
    if (buf.length < headEnd + n) return null;
    return done(buf.subarray(headEnd, headEnd + n), [], headEnd + n);
  }
  if (kind === 'request') return done(Buffer.alloc(0), [], headEnd);
  return opts.closed === true ? done(buf.subarray(headEnd), [], buf.length) : null;
}

export function asResponse(m: WireMessage): WireResponse {
  const [, status, ...reason] = m.startLine.split(' ');
  return { ...m, status: Number(status), reason: reason.join(' ') };
}

export function asRequest(m: WireMessage): WireRequest {
  const [method, target] = m.startLine.split(' ');
  return { ...m, method: method!, target: target! };
}

/**
 * A raw TCP client: write any bytes, read responses one after another from what arrived, and
 * see exactly when the server closed. Waits are event driven with a deadline, never sleeps.
 */
export class RawClient {
  readonly socket: net.Socket;
  received = Buffer.alloc(0);
  /** Bytes of `received` already returned by readResponse. */
  offset = 0;
  closed = false;
  error: Error | undefined;
  private wakers: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    socket.on('error', (err) => { this.error = err; });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RawClient(s));
      });
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  private wake(): void {
    const w = this.wakers;
    this.wakers = [];
    for (const f of w) f();
  }

  /** Resolve when `check` holds, re-checking on every arrival or close; fail after the deadline. */
  async until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (this.closed && !check()) throw new Error(`connection closed while waiting for ${what}; received:\n${this.text()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received:\n${this.text()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wakers.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  /** The next whole response after the ones already read (1xx responses count as responses). */
  async readResponse(opts: { method?: string; timeoutMs?: number } = {}): Promise<WireResponse> {
    let msg: WireMessage | null = null;
    const tryParse = (): boolean => {
      msg = parseMessage(this.received.subarray(this.offset), 'response', { method: opts.method, closed: this.closed });
      return msg !== null;
    };
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    while (!tryParse()) {
      if (this.closed) throw new Error(`connection closed before a whole response; received:\n${this.text()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for a response; received:\n${this.text()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wakers.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    const m = msg as unknown as WireMessage;
    this.offset += m.size;
    return asResponse(m);
  }

  /** Wait for the server to close the connection (FIN or reset). */
  waitClosed(timeoutMs = 10_000): Promise<void> {
    return this.until(() => this.closed, timeoutMs, 'the server to close the connection').catch((err: Error) => {
      if (this.closed) return;
      throw err;
    });
  }

  /** Everything received and not yet read, for assertion messages. */
  text(): string {
    return this.received.subarray(this.offset).toString('latin1');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** What a RawBackend handler gets: the parsed request and the socket to answer on. */
export type RawHandler = (req: WireRequest, socket: net.Socket, backend: RawBackend) => void;

/**
 * A backend that answers with whatever bytes the handler writes (for malformed, truncated or
 * hop-by-hop-laden responses node:http would refuse to produce). `GET /health` is answered 200.
 * Requests are parsed in order (pipelining works); every non-health request is recorded.
 */
export class RawBackend {
  readonly name: string;
  port = 0;
  readonly requests: WireRequest[] = [];
  handler: RawHandler;
  readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(name: string, handler: RawHandler) {
    this.name = name;
    this.handler = handler;
    this.server = net.createServer((socket) => this.serve(socket));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get hits(): number {
    return this.requests.length;
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        let m: WireMessage | null;
        try {
          m = parseMessage(buf, 'request');
        } catch {
          socket.destroy();
          return;
        }
        if (m === null) return;
        buf = buf.subarray(m.size);
        const req = asRequest(m);
        if (req.target === '/health') {
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
          if (/close/i.test(one(req.headers, 'connection') ?? '')) socket.end();
          continue;
        }
        this.requests.push(req);
        this.handler(req, socket, this);
      }
    });
  }

  async listen(port = 0): Promise<this> {
    this.port = await listenLoopback(this.server, port);
    return this;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A port on 127.0.0.1 that refuses connections (bound once, then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
