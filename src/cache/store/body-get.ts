/**
 * A GET of a stored body on a raw store connection (store-sockets.ts): the request head written
 * here, the answer head parsed here, and the body handed on chunk by chunk as the socket reads it,
 * with no copy, as a Readable that ends after Content-Length bytes and gives the connection back.
 * Node's HTTP client copied each body chunk once more in its parser; with the stream machinery of
 * its IncomingMessage that was most of a store-tier hit's CPU (bench/RESULTS.md).
 * An error answer (404, 412, ...) is read whole as text.
 */
import type net from 'node:net';
import { Readable } from 'node:stream';
import { Body, ChunkedWalker, FIELD_STRIDE, NAME_END, NAME_START, PARSE_ERROR, PARSE_NEED_MORE, ResponseHeadParser, VALUE_END, VALUE_START, type ResponseHead } from '../../http1/index.js';
import type { StoreSockets } from './store-sockets.js';

export interface RawAnswer {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: ReadonlyMap<string, string>;
  /** The body of a 200 or 206 as it arrives; null for other answers, whose body is `text`. */
  readonly body: Readable | null;
  readonly text: string;
}

/**
 * The store's answer heads are parsed by the proxy's own strict parser. One serves every read:
 * each parse starts over (reset: reads of different connections interleave, so its resume state
 * is never another read's), and what is kept is copied out of it before the buffer is let go.
 */
const parser = new ResponseHeadParser({ maxHeadSize: 64 * 1024 });
/** No byte from the store for this long fails the read (node's client had the same 30 s socket timeout). */
const IDLE_TIMEOUT_MS = 30_000;

/** A request head; a value with a line break (from a tampered metadata object, say) is refused. */
export function requestHead(method: string, target: string, headers: Readonly<Record<string, string>>): string {
  let head = `${method} ${target} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n]/.test(value)) throw new Error(`the ${name} header of a store request holds a line break`);
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

/**
 * Sends `head` (a GET) and reads the answer; once more on a new connection when a reused one fails
 * before answering. `buffer`: body bytes read ahead of the consumer before the socket is paused
 * (0: node's default stream buffer, the socket's own buffers doing the rest).
 */
export async function rawGet(sockets: StoreSockets, head: string, buffer = 0): Promise<RawAnswer> {
  const { socket, reused } = await sockets.take(false);
  try {
    return await exchange(sockets, socket, head, buffer);
  } catch (err) {
    if (!reused || (err as { answered?: boolean }).answered === true) throw err;
  }
  return exchange(sockets, (await sockets.take(true)).socket, head, buffer);
}

interface Head {
  readonly status: number;
  readonly headers: Map<string, string>;
  readonly bodyKind: number;
  /** Content-Length when the body is FIXED. */
  readonly length: number;
  /** The connection may carry the next request (HTTP/1.1 without Connection: close). */
  readonly reusable: boolean;
}

function exchange(sockets: StoreSockets, socket: net.Socket, head: string, buffer: number): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let got: Buffer = Buffer.alloc(0);
    const detach = (): void => {
      socket.off('data', onData);
      socket.off('error', fail);
      socket.off('end', closed);
      socket.off('close', closed);
      socket.off('timeout', timedOut);
    };
    function fail(err: Error): void {
      detach();
      socket.destroy();
      reject(Object.assign(err, { answered: got.length > 0 }));
    }
    function closed(): void {
      fail(new Error('the store closed the connection before answering'));
    }
    function timedOut(): void {
      fail(new Error(`the store sent nothing for ${IDLE_TIMEOUT_MS} ms`));
    }
    function onData(chunk: Buffer): void {
      got = got.length === 0 ? chunk : Buffer.concat([got, chunk]);
      parser.reset();
      const end = parser.parse(got, 0, 'GET');
      if (end === PARSE_NEED_MORE) return;
      if (end === PARSE_ERROR) return fail(new Error(`the store sent an answer that is not valid HTTP/1.1 (${parser.error?.code ?? 'unparsable'})`));
      const parsed = headOf(parser.head);
      parser.forgetBuffer();
      detach();
      answer(sockets, socket, parsed, got.subarray(end), buffer)
        .then(resolve, (err: Error) => reject(Object.assign(err, { answered: true })));
    }
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('end', closed);
    socket.once('close', closed);
    socket.setTimeout(IDLE_TIMEOUT_MS, timedOut);
    socket.resume();
    socket.write(head);
  });
}

/** What an answer needs of a parsed head, copied out of the parser (which the next read reuses). */
function headOf(h: ResponseHead): Head {
  const headers = new Map<string, string>();
  for (let i = 0; i < h.headerCount; i++) {
    const o = i * FIELD_STRIDE;
    const name = h.buffer.toString('latin1', h.offsets[o + NAME_START]!, h.offsets[o + NAME_END]!).toLowerCase();
    const value = h.buffer.toString('latin1', h.offsets[o + VALUE_START]!, h.offsets[o + VALUE_END]!);
    headers.set(name, headers.has(name) ? `${headers.get(name)!}, ${value}` : value);
  }
  return { status: h.statusCode, headers, bodyKind: h.bodyKind, length: h.contentLength, reusable: h.keepAlive };
}

/** The body of a 200/206 as a stream; any other answer read whole. */
async function answer(sockets: StoreSockets, socket: net.Socket, head: Head, first: Buffer, buffer: number): Promise<RawAnswer> {
  const length = head.bodyKind === Body.FIXED ? head.length : head.bodyKind === Body.NONE ? 0 : -1;
  const done = (ok: boolean): void => (ok && head.reusable ? sockets.release(socket) : void socket.destroy());
  if (length < 0) {
    if (head.status === 200 || head.status === 206) {
      socket.destroy(); // S3 sends a Content-Length with every object
      throw new Error('the store sent a body without Content-Length');
    }
    // An error body chunked (Swift's 404) or up to the close (Swift's 403): read for its S3 code.
    const text = await errorText(socket, first, head.bodyKind === Body.CHUNKED, done);
    return { status: head.status, headers: head.headers, body: null, text };
  }
  const body = new StoreBody(socket, length, first, done, buffer);
  if (head.status === 200 || head.status === 206) return { status: head.status, headers: head.headers, body, text: '' };
  return { status: head.status, headers: head.headers, body: null, text: (await collect(body)).toString('utf8') };
}

const MAX_ERROR_BODY = 64 * 1024;
const ENDS = ['end', 'close', 'error', 'timeout'] as const;

/**
 * The text of an error body without Content-Length, read for its S3 code: a chunked one up to its
 * last chunk, walked by the proxy's own strict chunked parser, after which the connection is handed
 * to `done(true)` for reuse (Swift answers every 404 this way: a lookup that misses must not cost a
 * new connection); otherwise up to the close or 64 KiB, and `done(false)`.
 */
function errorText(socket: net.Socket, first: Buffer, chunked: boolean, done: (reusable: boolean) => void): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let seen = 0;
    const walker = chunked ? new ChunkedWalker({ side: 'response' }) : null;
    if (walker !== null) walker.sink = { span: (buf, start, end) => parts.push(Buffer.from(buf.subarray(start, end))) };
    const finish = (reusable: boolean): void => {
      socket.off('data', onData);
      for (const event of ENDS) socket.off(event, cut);
      done(reusable);
      resolve(Buffer.concat(parts).toString('utf8'));
    };
    function cut(): void {
      finish(false);
    }
    function onData(chunk: Buffer): void {
      seen += chunk.length;
      if (walker === null) {
        parts.push(chunk);
      } else {
        const used = walker.feed(chunk);
        // Whole, with nothing after it: the connection is in step for the next request.
        if (walker.done) return finish(used === chunk.length);
        if (used < 0) return finish(false);
      }
      if (seen > MAX_ERROR_BODY) finish(false);
    }
    socket.on('data', onData);
    for (const event of ENDS) socket.once(event, cut);
    if (first.length > 0) onData(first);
  });
}

/** A whole (small) body, read with events (an async iterator cost more per call). */
export function collect(body: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    body.on('data', (chunk: Buffer) => chunks.push(chunk));
    body.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    body.once('error', reject);
  });
}

/** `length` bytes read from `socket` (the first of them already read), then the socket handed to `done`. */
class StoreBody extends Readable {
  private left: number;
  private socket: net.Socket | null;
  private readonly done: (reusable: boolean) => void;

  constructor(socket: net.Socket, length: number, first: Buffer, done: (reusable: boolean) => void, buffer: number) {
    super(buffer > 0 ? { highWaterMark: buffer } : {});
    this.left = length;
    this.socket = socket;
    this.done = done;
    socket.on('data', this.onData);
    socket.once('error', this.onError);
    socket.once('end', this.onCut);
    socket.once('close', this.onCut);
    socket.once('timeout', this.onTimeout);
    if (length === 0) this.finish(first.length === 0);
    else if (first.length > 0) this.onData(first);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (chunk.length >= this.left) {
      // More than the body: the connection is out of step and is not reused.
      const whole = chunk.length === this.left;
      this.push(whole ? chunk : chunk.subarray(0, this.left));
      this.left = 0;
      this.finish(whole);
      return;
    }
    this.left -= chunk.length;
    if (!this.push(chunk)) this.socket!.pause();
  };

  private readonly onError = (err: Error): void => {
    this.destroy(err);
  };

  private readonly onCut = (): void => {
    this.destroy(new Error(`the store connection closed ${this.left} bytes before the end of the body`));
  };

  private readonly onTimeout = (): void => {
    this.destroy(new Error(`the store sent nothing for ${IDLE_TIMEOUT_MS} ms`));
  };

  override _read(): void {
    this.socket?.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.detach()?.destroy();
    callback(err);
  }

  private finish(reusable: boolean): void {
    this.detach();
    this.push(null);
    this.done(reusable);
  }

  private detach(): net.Socket | null {
    const socket = this.socket;
    if (socket === null) return null;
    this.socket = null;
    socket.off('data', this.onData);
    socket.off('error', this.onError);
    socket.off('end', this.onCut);
    socket.off('close', this.onCut);
    socket.off('timeout', this.onTimeout);
    return socket;
  }
}
