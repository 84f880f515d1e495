/**
 * The client-to-backend direction of one request: which framing the body has, bytes held while
 * the upstream connection opens (so a failed connect loses nothing and can be retried), and
 * upload backpressure. HTTP/1.1 bodies are relayed with their own framing (counted, never
 * re-encoded); an HTTP/2 body without Content-Length goes upstream chunked, one chunk per DATA frame.
 */
import { Body, ChunkedWalker, FixedLengthBody, type BodyFramer, type SpanSink } from '../http1/index.js';
import type { ProxyError } from './errors.js';
import type { BodyTap, Downstream, ProxyFilter, RequestView } from './pipeline.js';
import type { UpstreamConnection } from './raw/upstream-pool.js';

/** Body bytes held while the upstream connection opens (or a filter decides), before the client is paused. */
const HOLD_LIMIT = 256 * 1024;

/** What data() and end() report besides byte counts. */
export const BODY_MALFORMED = -1;

export class RequestBody implements SpanSink {
  /** The client side; the owning forwarder rebinds it (Forwarder.serve) between requests. */
  down: Downstream;
  private readonly fixed = new FixedLengthBody(0);
  private readonly chunked = new ChunkedWalker({ side: 'request' });
  private framer: BodyFramer | null = null;
  /** An HTTP/2 body without Content-Length: each DATA chunk goes upstream as one HTTP/1.1 chunk. */
  private chunkUpstream = false;
  private held: (Buffer | string)[] | null = null;
  private heldBytes = 0;
  private paused = false;
  /** The upstream connection the body goes to; null while none is open. */
  private conn: UpstreamConnection | null = null;
  /** The whole body has been received from the client. */
  done = true;
  /** Some body bytes went onto an upstream connection (they cannot be sent again). */
  sent = false;
  /** Taps on this body (the mirror's copy); null when none: nothing allocated. */
  private taps: BodyTap[] | null = null;

  constructor(down: Downstream) {
    this.down = down;
  }

  /** A new request: its body framing (see Forwarder.start). */
  start(bodyKind: number, contentLength: number): void {
    this.framer = null;
    this.chunkUpstream = false;
    if (bodyKind === Body.CHUNKED) {
      if (this.down.rawFraming) {
        this.chunked.reset();
        this.framer = this.chunked;
      } else {
        this.chunkUpstream = true;
      }
    } else if (bodyKind === Body.FIXED && contentLength > 0) {
      this.fixed.reset(contentLength);
      this.framer = this.fixed;
    }
    this.done = this.framer === null && !this.chunkUpstream;
    this.held = this.conn = null;
    this.heldBytes = 0;
    this.paused = this.sent = false;
    this.taps = null;
    this.chunked.sink = null;
  }

  /** Phase 2: the taps `filters` want on this body (the mirror's copy), set up before any byte of it is read. */
  tapFor(filters: readonly ProxyFilter[], req: RequestView): void {
    let taps: BodyTap[] | null = null;
    for (const f of filters) {
      const tap = f.requestBody!(req);
      if (tap !== null) (taps ??= []).push(tap);
    }
    if (taps !== null) this.tap(taps);
  }

  /** Taps that see this body as data spans (chunked framing reported by the walker). */
  private tap(taps: BodyTap[]): void {
    this.taps = taps;
    if (this.framer === this.chunked) this.chunked.sink = this;
  }

  /** Some tap still waits for the end of this body. */
  get tapped(): boolean {
    return this.taps !== null;
  }

  /** SpanSink: a data span of a chunked body, for the taps. */
  span(buf: Buffer, start: number, end: number): void {
    for (const tap of this.taps!) tap.data(buf, start, end);
  }

  /** The body was read whole (`err` null) or will not be: tell the taps, once. */
  endTaps(err: ProxyError | null): void {
    const taps = this.taps;
    if (taps === null) return;
    this.taps = null;
    this.chunked.sink = null;
    for (const tap of taps) {
      if (err === null) tap.end();
      else tap.abort(err);
    }
  }

  /** Client bytes; returns how many belong to the body, or BODY_MALFORMED. */
  data(chunk: Buffer): number {
    if (this.done) return 0;
    if (this.chunkUpstream) {
      if (chunk.length === 0) return 0;
      if (this.taps !== null) this.span(chunk, 0, chunk.length);
      this.send(`${chunk.length.toString(16)}\r\n`);
      this.send(chunk);
      this.send('\r\n');
      return chunk.length;
    }
    const framer = this.framer!;
    const n = framer.feed(chunk, 0, chunk.length);
    if (n < 0) return BODY_MALFORMED;
    if (n > 0) {
      // Chunked bodies reported their data spans to the taps during feed().
      if (this.taps !== null && framer !== this.chunked) this.span(chunk, 0, n);
      this.send(n === chunk.length ? chunk : chunk.subarray(0, n));
    }
    if (framer.done) {
      this.done = true;
      this.endTaps(null);
    }
    return n;
  }

  /** HTTP/2 END_STREAM: a chunked upstream body gets its last chunk and trailers. False when the body came short. */
  end(trailers: readonly string[] | null): boolean {
    if (this.done) return true;
    if (!this.chunkUpstream) return false;
    let last = '0\r\n';
    if (trailers !== null) for (let i = 0; i < trailers.length; i += 2) last += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
    this.send(`${last}\r\n`);
    this.done = true;
    this.endTaps(null);
    return true;
  }

  /** The body now goes to `conn` (its head was just written); held bytes follow once it is open. */
  attach(conn: UpstreamConnection): void {
    this.conn = conn;
    if (conn.connected) this.flush();
  }

  /** The attempt ended: nothing more goes to that connection. */
  detach(): void {
    this.conn = null;
  }

  /** The connection opened: send what was held. */
  connected(): void {
    this.flush();
  }

  /** The upstream connection drained: read the client again. */
  upstreamDrained(): void {
    if (this.paused) this.resume();
  }

  /** Body bytes as the application sees them (chunk framing not counted), given the bytes relayed. */
  dataBytes(relayed: number): number {
    return this.framer === this.chunked ? this.chunked.dataBytes : relayed;
  }

  /** Reading the client is paused by us (the upstream connection is not taking the body yet), not by the client. */
  get heldBack(): boolean {
    return this.paused;
  }

  /** Pause reading the client (a tunnel's backend is slow). */
  pause(): void {
    this.paused = true;
    this.down.pauseRequest();
  }

  private send(part: Buffer | string): void {
    const conn = this.conn;
    if (conn !== null && conn.connected && this.held === null) {
      this.sent = true;
      if (!conn.write(part)) this.pause();
      return;
    }
    (this.held ??= []).push(part);
    this.heldBytes += part.length;
    if (this.heldBytes > HOLD_LIMIT) this.pause();
  }

  private flush(): void {
    const held = this.held;
    const conn = this.conn;
    if (held === null || conn === null) return;
    this.held = null;
    this.heldBytes = 0;
    this.sent = true;
    let ok = true;
    for (const part of held) ok = conn.write(part);
    if (ok && this.paused) this.resume();
  }

  private resume(): void {
    this.paused = false;
    this.down.resumeRequest();
  }
}
