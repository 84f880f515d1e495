/**
 * One HTTP/2 stream on the server side (RFC 9113 §5.1): its state, the response it sends (HEADERS,
 * DATA within the peer's flow-control windows, trailers) and the request window it gives back as
 * its handler consumes the body. The connection (connection.ts) owns the frames in and out.
 */
import { encodeFields, encodeStatus, fieldsBound } from './hpack/encoder.js';
import { ErrorCode, FRAME_HEADER, type FrameWriter } from './frames.js';

/** What the stream's user (the forwarding core's adapter) hears from it. */
export interface StreamHandler {
  /** Request body bytes (valid until the handler returns; the socket's read buffer). */
  onData(chunk: Buffer): void;
  /** The client ended its side, with trailers (name/value flat list) or null. */
  onEnd(trailers: string[] | null): void;
  /** Response data queued by write() went out: the core may write more. */
  onDrain(): void;
  /** The stream closed (cleanly or reset); nothing more will be heard of it. */
  onClose(clean: boolean): void;
}

/** What the stream needs from its connection. */
export interface StreamHost {
  readonly out: FrameWriter;
  /** Peer's SETTINGS_MAX_FRAME_SIZE. */
  readonly peerMaxFrame: number;
  /** Connection-level send window left. */
  sendWindow: number;
  /** Output to go out at the end of this batch; false when the socket is backed up. */
  scheduleFlush(): boolean;
  /** The stream has data waiting for window (resumed on WINDOW_UPDATE). */
  waitForWindow(s: H2Stream): void;
  /** Gives back request-body window for this stream (it consumed `n` bytes). */
  replenish(s: H2Stream, n: number): void;
  /** We reset stream `id`: frames the client still sends on it are dropped. */
  streamReset(id: number): void;
  streamClosed(s: H2Stream, code: number): void;
}

export type ResponseFields = Record<string, string | string[]>;

export class H2Stream {
  readonly id: number;
  handler: StreamHandler | null = null;
  /** The client sent END_STREAM (or the stream was reset). */
  remoteEnded = false;
  /** We sent END_STREAM (or the stream was reset). */
  localEnded = false;
  closed = false;
  sendWindow: number;
  /** Request bytes the client may still send before we give window back. */
  recvWindow: number;
  /** Request body bytes received, against the Content-Length (-1: none given). */
  received = 0;
  contentLength = -1;
  /** Response bytes waiting for flow-control window, and whether end() came behind them. */
  private queued: Buffer[] = [];
  private endQueued: ResponseFields | null | undefined = undefined;
  /** The handler was told to wait (write() returned false). */
  private needDrain = false;
  headersSent = false;
  /** Request-body window consumed but not given back (paused uploads keep it). */
  private consumed = 0;
  private paused = false;
  /** The request-body window we gave this stream: consumed bytes go back once half of it is used. */
  private readonly windowSize: number;
  private readonly host: StreamHost;
  /** Where our last HEADERS/DATA frame sits in the output, to set END_STREAM on it later. */
  private lastBuf: Buffer | null = null;
  private lastAt = 0;

  constructor(host: StreamHost, id: number, sendWindow: number, recvWindow: number) {
    this.host = host;
    this.id = id;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
    this.windowSize = recvWindow;
  }

  /** Response HEADERS (final or 1xx); `fields` names are lower-case and valid in HTTP/2. */
  respond(status: number, fields: ResponseFields, endStream = false): void {
    if (this.localEnded) return;
    const blockStart = this.openHead(5 + fieldsBound(fields));
    const buf = this.host.out.buf;
    this.closeHead(status, blockStart, encodeFields(buf, encodeStatus(buf, blockStart, status), fields), endStream);
  }

  /**
   * Makes room for a header block of at most `bound` bytes and returns where it starts in
   * outBuffer; the caller writes the block there, then calls closeHead(). For heads encoded
   * straight from a backend's bytes (response-head.ts).
   */
  openHead(bound: number): number {
    const out = this.host.out;
    out.ensure(FRAME_HEADER + bound);
    return out.pos + FRAME_HEADER;
  }

  get outBuffer(): Buffer {
    return this.host.out.buf;
  }

  /** The block written at [blockStart, end) goes out as HEADERS (split into CONTINUATION if needed). */
  closeHead(status: number, blockStart: number, end: number, endStream: boolean): void {
    const out = this.host.out;
    out.pos = end;
    const at = out.headersFrom(blockStart, this.id, endStream, this.host.peerMaxFrame);
    if (status >= 200) this.headersSent = true;
    this.remember(at);
    if (endStream) this.sentEnd();
    this.host.scheduleFlush();
  }

  /** Response body; false when the core should wait for drained(). The bytes are copied. */
  write(data: Buffer): boolean {
    if (this.localEnded) return true;
    if (this.queued.length > 0) {
      this.queued.push(Buffer.from(data));
      return this.mustWait();
    }
    const sent = this.send(data, 0);
    const flowing = this.host.scheduleFlush();
    if (sent < data.length) {
      this.queued.push(Buffer.from(data.subarray(sent)));
      this.host.waitForWindow(this);
      return this.mustWait();
    }
    return flowing || this.mustWait();
  }

  private mustWait(): boolean {
    this.needDrain = true;
    return false;
  }

  /** Sends data[from..] as far as both windows allow; returns where it stopped. */
  private send(data: Buffer, from: number): number {
    const host = this.host;
    // Room for all the frames this call can send, in one buffer: one allocation, one contiguous write.
    const can = Math.min(this.sendWindow, host.sendWindow, data.length - from);
    if (can > 0) host.out.ensure(can + FRAME_HEADER * Math.ceil(can / host.peerMaxFrame));
    while (from < data.length) {
      const room = Math.min(this.sendWindow, host.sendWindow, host.peerMaxFrame, data.length - from);
      if (room <= 0) break;
      this.remember(host.out.data(this.id, data, from, from + room, false));
      this.sendWindow -= room;
      host.sendWindow -= room;
      from += room;
    }
    return from;
  }

  /** Ends the response: with trailers (HEADERS) when given, else END_STREAM on the last frame. */
  end(trailers: ResponseFields | null = null): void {
    if (this.localEnded || this.endQueued !== undefined) return;
    if (this.queued.length > 0) {
      this.endQueued = trailers;
      return;
    }
    this.finish(trailers);
  }

  private finish(trailers: ResponseFields | null): void {
    const out = this.host.out;
    if (trailers !== null && Object.keys(trailers).length > 0) {
      this.sendTrailers(trailers);
    } else if (this.lastBuf !== null && out.unsent(this.lastBuf, this.lastAt)) {
      this.lastBuf[this.lastAt + 4]! |= 0x1; // END_STREAM on the frame still in this batch
    } else {
      out.ensure(FRAME_HEADER);
      out.header(0, 0 /* DATA */, 0x1, this.id);
    }
    this.sentEnd();
    this.host.scheduleFlush();
  }

  private sendTrailers(trailers: ResponseFields): void {
    const out = this.host.out;
    out.ensure(FRAME_HEADER + fieldsBound(trailers));
    const blockStart = out.pos + FRAME_HEADER;
    out.pos = encodeFields(out.buf, blockStart, trailers);
    out.headersFrom(blockStart, this.id, true, this.host.peerMaxFrame);
  }

  private remember(at: number): void {
    this.lastBuf = this.host.out.buf;
    this.lastAt = at;
  }

  private sentEnd(): void {
    this.localEnded = true;
    this.lastBuf = null;
    // A response complete before its request: the rest of the upload is not wanted (RFC 9113 §8.1).
    if (!this.remoteEnded) {
      this.host.out.rstStream(this.id, ErrorCode.NO_ERROR);
      this.host.streamReset(this.id);
    }
    this.close(ErrorCode.NO_ERROR, true);
  }

  /** Window opened (stream or connection): send what was queued; waits for window again if some is left. */
  resumeSending(): boolean {
    while (this.queued.length > 0) {
      const head = this.queued[0]!;
      const sent = this.send(head, 0);
      if (sent < head.length) {
        this.queued[0] = head.subarray(sent);
        this.host.waitForWindow(this);
        this.host.scheduleFlush();
        return false;
      }
      this.queued.shift();
    }
    if (this.endQueued !== undefined) {
      const t = this.endQueued;
      this.endQueued = undefined;
      this.finish(t);
    }
    this.host.scheduleFlush();
    this.drainedIfWaiting();
    return true;
  }

  /** The socket took its backlog, or the queue emptied: a waiting handler may write again. */
  drainedIfWaiting(): void {
    if (!this.needDrain || this.queued.length > 0 || this.closed) return;
    this.needDrain = false;
    this.handler?.onDrain();
  }

  get waiting(): boolean {
    return this.needDrain;
  }

  /** Response bytes queued for window (tests, and the connection's memory bound). */
  get queuedBytes(): number {
    let n = 0;
    for (const b of this.queued) n += b.length;
    return n;
  }

  // ---- request side ----

  /** The handler took `n` request bytes: give the window back unless paused. */
  consumedData(n: number): void {
    this.consumed += n;
    if (!this.paused) this.giveBack();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.giveBack();
  }

  /**
   * One WINDOW_UPDATE per half window taken, not one per DATA frame (as nghttp2 does): the client
   * still has half a window in flight, and an upload costs a quarter of the frames it did.
   */
  private giveBack(): void {
    if (this.consumed < this.windowSize / 2 || this.remoteEnded) return;
    const n = this.consumed;
    this.consumed = 0;
    this.recvWindow += n;
    this.host.replenish(this, n);
  }

  /** The client ended its side. */
  remoteEnd(trailers: string[] | null): void {
    this.remoteEnded = true;
    this.handler?.onEnd(trailers);
    if (this.localEnded && !this.closed) this.close(ErrorCode.NO_ERROR, true);
  }

  /** Reset by us: RST_STREAM with `code`. */
  reset(code: number): void {
    if (this.closed) return;
    this.host.out.rstStream(this.id, code);
    this.host.streamReset(this.id);
    this.host.scheduleFlush();
    this.close(code, false);
  }

  /** Closed: no frame of it goes out anymore (reset by the peer or by us, or both sides ended). */
  close(code: number, clean: boolean): void {
    if (this.closed) return;
    this.closed = this.localEnded = this.remoteEnded = true;
    this.queued = [];
    this.endQueued = undefined;
    this.host.streamClosed(this, code);
    const h = this.handler;
    this.handler = null;
    h?.onClose(clean);
  }
}
