/**
 * One client interface over HTTP/1.1 (plain, node:http) and HTTP/2 (TLS + ALPN h2, node:http2),
 * so a case suite can run the same test against both of Outrigger's client protocols.
 */
import http from 'node:http';
import http2 from 'node:http2';
import { Outrigger } from './outrigger.js';
import { closeSession } from './h2-session.js';

export type Protocol = 'http/1.1' | 'h2';
export const PROTOCOLS: readonly Protocol[] = ['http/1.1', 'h2'];
/** A short name of the protocol, for the paths and ids a suite keeps to itself ('h1', 'h2'). */
export const short = (protocol: Protocol): 'h1' | 'h2' => (protocol === 'h2' ? 'h2' : 'h1');

export interface Call {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  /** Request trailers (the body then goes chunked on HTTP/1.1). */
  readonly trailers?: Record<string, string>;
  /** Called with the response head, before the body (to act mid-stream). */
  readonly onResponse?: (abort: () => void) => void;
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  readonly text: string;
  readonly trailers: Record<string, string | string[] | undefined>;
  /** The exchange broke (reset, aborted, incomplete body); status and body are what arrived. */
  readonly error: string | undefined;
}

/**
 * Starts Outrigger for `protocol`: HTTP/2 needs TLS (a generated certificate), HTTP/1.1 runs
 * plain. `track` gets the process before it is ready, so a start that times out is still stopped.
 */
export async function startFor(protocol: Protocol, args: readonly string[], track?: (o: Outrigger) => void): Promise<Outrigger> {
  const o = new Outrigger(protocol === 'h2' ? ['--auto-tls-host', '127.0.0.1', ...args] : args);
  track?.(o);
  // Generating the certificate takes a while on a loaded machine.
  return o.ready(30_000);
}

export abstract class ProtocolClient {
  abstract call(c: Call): Promise<Reply>;
  abstract close(): Promise<void>;

  static open(protocol: Protocol, o: Outrigger): ProtocolClient {
    return protocol === 'h2' ? new H2Client(o.port) : new H1Client(o.port);
  }
}

class H1Client extends ProtocolClient {
  private readonly agent = new http.Agent({ keepAlive: true });
  private readonly port: number;

  constructor(port: number) {
    super();
    this.port = port;
  }

  call(c: Call): Promise<Reply> {
    return new Promise((resolve) => {
      const headers: Record<string, string> = { ...c.headers };
      if (c.body !== undefined && c.trailers === undefined) headers['content-length'] = String(Buffer.byteLength(c.body));
      const req = http.request({ host: '127.0.0.1', port: this.port, method: c.method ?? 'GET', path: c.path, headers, agent: this.agent });
      let status = 0;
      let replyHeaders: Reply['headers'] = {};
      const chunks: Buffer[] = [];
      const done = (error: string | undefined, trailers: Reply['trailers'] = {}): void => {
        const body = Buffer.concat(chunks);
        resolve({ status, headers: replyHeaders, body, text: body.toString(), trailers, error });
      };
      req.once('error', (err) => done(err.message));
      req.once('response', (res) => {
        status = res.statusCode ?? 0;
        replyHeaders = res.headers;
        c.onResponse?.(() => req.destroy(new Error('aborted by the test')));
        res.on('data', (d: Buffer) => chunks.push(d));
        res.once('end', () => done(res.complete ? undefined : 'incomplete body', res.trailers));
        res.once('error', (err) => done(err.message));
      });
      if (c.body !== undefined) req.write(c.body);
      if (c.trailers !== undefined) req.addTrailers(c.trailers);
      req.end();
    });
  }

  close(): Promise<void> {
    this.agent.destroy();
    return Promise.resolve();
  }
}

class H2Client extends ProtocolClient {
  private readonly session: http2.ClientHttp2Session;

  constructor(port: number) {
    super();
    this.session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    this.session.on('error', () => {});
  }

  call(c: Call): Promise<Reply> {
    return new Promise((resolve) => {
      const stream = this.session.request(
        { ':method': c.method ?? 'GET', ':path': c.path, ...c.headers },
        { endStream: c.body === undefined && c.trailers === undefined, waitForTrailers: c.trailers !== undefined },
      );
      let status = 0;
      let headers: Reply['headers'] = {};
      let trailers: Reply['trailers'] = {};
      const chunks: Buffer[] = [];
      let settled = false;
      const done = (error: string | undefined): void => {
        if (settled) return;
        settled = true;
        const body = Buffer.concat(chunks);
        resolve({ status, headers, body, text: body.toString(), trailers, error });
      };
      stream.once('response', (h) => {
        status = Number(h[':status']);
        headers = h;
        c.onResponse?.(() => stream.close(http2.constants.NGHTTP2_CANCEL));
      });
      stream.on('trailers', (t) => { trailers = t; });
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.once('end', () => done(stream.rstCode !== undefined && stream.rstCode !== 0 ? `reset ${stream.rstCode}` : undefined));
      stream.once('error', (err) => done(err.message));
      stream.once('close', () => done(stream.rstCode !== 0 ? `reset ${stream.rstCode}` : undefined));
      if (c.trailers !== undefined) stream.once('wantTrailers', () => stream.sendTrailers(c.trailers!));
      if (c.body !== undefined) stream.end(c.body);
      else if (c.trailers !== undefined) stream.end();
    });
  }

  close(): Promise<void> {
    return closeSession(this.session);
  }
}
