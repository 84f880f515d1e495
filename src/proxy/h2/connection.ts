/**
 * One HTTP/2 connection, server side (RFC 9113): SETTINGS, PING, GOAWAY, WINDOW_UPDATE, RST_STREAM,
 * header blocks (HEADERS + CONTINUATION, HPACK), DATA with flow control both ways, stream states.
 * It sees bytes in (receive) and hands bytes out (Transport), so tests drive it without sockets.
 * Everything produced while handling one read, or in one turn of the event loop, leaves in one write.
 */
import { FrameInput, type FrameSink } from './frame-input.js';
import { DEFAULT_MAX_FRAME, DEFAULT_WINDOW, ErrorCode, Flag, FrameType, MAX_WINDOW, Setting } from './frames.js';
import { PerSecondBudget, readSettings } from './settings.js';
import { HpackDecoder, HpackError } from './hpack/decoder.js';
import { HeaderBlocks } from './header-blocks.js';
import { readRequestHead, readTrailers, type RequestHead } from './request-head.js';
import { ConnectionOutput, type Transport } from './output.js';
import { H2Stream } from './stream.js';

export type { Transport } from './output.js';

/** Who serves the requests (H2Sessions): a new stream with a well-formed request head. */
export interface ConnectionOwner {
  openStream(conn: H2Connection, stream: H2Stream, head: RequestHead): void;
  /** A stream closed: `open` streams are left. */
  streamClosed(conn: H2Connection, open: number): void;
}

export interface ConnectionLimits {
  /** Our SETTINGS_MAX_HEADER_LIST_SIZE. */
  readonly maxHeaderListSize: number;
  readonly maxConcurrentStreams: number;
  /** Streams reset (by the client, or refused by us) per second before GOAWAY ENHANCE_YOUR_CALM. */
  readonly maxResetsPerSecond: number;
  /** PING and SETTINGS frames (which we must answer) per second before GOAWAY ENHANCE_YOUR_CALM. */
  readonly maxControlFramesPerSecond: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  maxHeaderListSize: 32 * 1024, maxConcurrentStreams: 100, maxResetsPerSecond: 200, maxControlFramesPerSecond: 1000,
};

/** Request-body window we give each stream, and the connection as a whole. */
export const STREAM_WINDOW = 128 * 1024;
export const CONNECTION_WINDOW = 1024 * 1024;

export class H2Connection extends ConnectionOutput implements FrameSink {
  private peerInitialWindow = DEFAULT_WINDOW;
  private readonly streams = new Map<number, H2Stream>();
  /** Highest stream id the client opened. */
  lastStreamId = 0;
  private recvWindow = CONNECTION_WINDOW;
  private settingsSeen = false;
  /** GOAWAY sent (drain) or received: no new streams; close once none is open. */
  private goingAway = false;
  private readonly resetBudget: PerSecondBudget;
  private readonly controlBudget: PerSecondBudget;
  /** When the client last sent anything (ms, from `now`). */
  lastActive: number;
  private readonly input: FrameInput;
  private readonly decoder = new HpackDecoder();
  private readonly blocks: HeaderBlocks;
  private readonly owner: ConnectionOwner;
  private readonly limits: ConnectionLimits;
  private readonly now: () => number;

  constructor(transport: Transport, owner: ConnectionOwner, limits: ConnectionLimits = DEFAULT_LIMITS, now: () => number = Date.now) {
    super(transport);
    this.owner = owner;
    this.limits = limits;
    this.now = now;
    this.lastActive = now();
    this.resetBudget = new PerSecondBudget(limits.maxResetsPerSecond, now);
    this.controlBudget = new PerSecondBudget(limits.maxControlFramesPerSecond, now);
    this.input = new FrameInput(this, DEFAULT_MAX_FRAME);
    this.blocks = new HeaderBlocks(limits.maxHeaderListSize);
    this.out.settings([
      [Setting.MAX_CONCURRENT_STREAMS, limits.maxConcurrentStreams],
      [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW],
      [Setting.MAX_HEADER_LIST_SIZE, limits.maxHeaderListSize],
      [Setting.ENABLE_PUSH, 0],
    ]);
    this.out.windowUpdate(0, CONNECTION_WINDOW - DEFAULT_WINDOW);
    this.scheduleFlush();
  }

  /** Streams open now. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Bytes from the client. */
  receive(chunk: Buffer): void {
    if (this.closed) return;
    this.lastActive = this.now();
    this.input.push(chunk);
    this.flush();
  }

  /** GOAWAY (NO_ERROR): streams open now finish, no new one starts; closes when the last ends. */
  drain(): void {
    if (this.closed) return;
    if (!this.goingAway) this.out.goaway(this.lastStreamId, ErrorCode.NO_ERROR);
    this.goingAway = true;
    this.flush();
    this.closeIfDone();
  }

  /** The transport is gone: every stream ends unclean. */
  transportClosed(): void {
    this.closed = true;
    for (const s of [...this.streams.values()]) s.close(ErrorCode.CANCEL, false);
  }

  /** The socket took its backlog. */
  drained(): void {
    if (this.socketDrained()) for (const s of this.streams.values()) s.drainedIfWaiting();
  }

  /** A connection error (RFC 9113 §5.4.1): GOAWAY with `code`, then close. */
  fail(code: number, _why: string): void {
    if (this.closed) return;
    this.out.goaway(this.lastStreamId, code);
    this.flush();
    this.closed = true;
    for (const s of [...this.streams.values()]) s.close(code, false);
    this.transport.end();
  }

  inputError(code: number, why: string): void {
    this.fail(code, why);
  }

  // ---- streams ----

  streamClosed(s: H2Stream, _code: number): void {
    this.streams.delete(s.id);
    this.waitingForWindow.delete(s);
    this.lastActive = this.now(); // the idle clock starts when the last stream ends
    this.owner.streamClosed(this, this.streams.size);
    this.closeIfDone();
  }

  private closeIfDone(): void {
    if (!this.goingAway || this.streams.size > 0 || this.closed) return;
    this.flush();
    this.closed = true;
    this.transport.end();
  }

  // ---- input ----

  onFrame(type: number, flags: number, id: number, buf: Buffer, start: number, end: number): boolean {
    if (!this.settingsSeen && type !== FrameType.SETTINGS) return this.error(ErrorCode.PROTOCOL_ERROR, 'first frame is not SETTINGS');
    if (this.blocks.expecting !== 0 && (type !== FrameType.CONTINUATION || id !== this.blocks.expecting)) {
      return this.error(ErrorCode.PROTOCOL_ERROR, 'expected CONTINUATION');
    }
    switch (type) {
      case FrameType.DATA: return this.onData(flags, id, buf, start, end);
      case FrameType.HEADERS: return this.onHeaders(flags, id, buf, start, end);
      case FrameType.CONTINUATION: return this.onContinuation(flags, id, buf, start, end);
      case FrameType.PRIORITY: return end - start !== 5 ? this.error(ErrorCode.FRAME_SIZE_ERROR, 'PRIORITY size') : id !== 0 || this.error(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
      case FrameType.RST_STREAM: return this.onReset(id, buf, start, end);
      case FrameType.SETTINGS: return this.onSettings(flags, id, buf, start, end);
      case FrameType.PING: return this.onPing(flags, id, buf, start, end);
      case FrameType.GOAWAY: return this.onGoaway(id);
      case FrameType.WINDOW_UPDATE: return this.onWindowUpdate(id, buf, start, end);
      case FrameType.PUSH_PROMISE: return this.error(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      default: return true; // unknown frame types are ignored (§4.1)
    }
  }

  /** fail() for use as a frame handler's result. */
  private error(code: number, why: string): false {
    this.fail(code, why);
    return false;
  }

  private onData(flags: number, id: number, buf: Buffer, start: number, end: number): boolean {
    if (id === 0) return this.error(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    const length = end - start;
    let dataEnd = end;
    if (flags & Flag.PADDED) {
      const pad = length > 0 ? buf[start++]! : 256;
      if (pad > end - start) return this.error(ErrorCode.PROTOCOL_ERROR, 'padding longer than the frame');
      dataEnd = end - pad;
    }
    this.recvWindow -= length;
    if (this.recvWindow < 0) return this.error(ErrorCode.FLOW_CONTROL_ERROR, 'connection window exceeded');
    if (this.recvWindow <= CONNECTION_WINDOW / 2) {
      this.out.windowUpdate(0, CONNECTION_WINDOW - this.recvWindow);
      this.recvWindow = CONNECTION_WINDOW;
    }
    const s = this.streams.get(id);
    if (s === undefined) {
      if (id > this.lastStreamId) return this.error(ErrorCode.PROTOCOL_ERROR, 'DATA on an idle stream');
      if (!this.resetByUs.includes(id)) this.out.rstStream(id, ErrorCode.STREAM_CLOSED);
      return true;
    }
    if (s.remoteEnded) {
      s.reset(ErrorCode.STREAM_CLOSED);
      return true;
    }
    s.recvWindow -= length;
    if (s.recvWindow < 0) {
      s.reset(ErrorCode.FLOW_CONTROL_ERROR);
      return true;
    }
    const n = dataEnd - start;
    s.received += n;
    if (s.contentLength >= 0 && (s.received > s.contentLength || (flags & Flag.END_STREAM && s.received !== s.contentLength))) {
      s.reset(ErrorCode.PROTOCOL_ERROR);
      return true;
    }
    if (n > 0) s.handler?.onData(buf.subarray(start, dataEnd));
    s.consumedData(length); // padding is given back at once, data as the handler takes it (pause)
    if (flags & Flag.END_STREAM && !s.closed) s.remoteEnd(null);
    return !this.closed;
  }

  private onHeaders(flags: number, id: number, buf: Buffer, start: number, end: number): boolean {
    if (id === 0 || (id & 1) === 0) return this.error(ErrorCode.PROTOCOL_ERROR, 'HEADERS on a bad stream id');
    const why = this.blocks.begin(flags, id, buf, start, end);
    if (why !== null) return this.error(why.code, why.why);
    return (flags & Flag.END_HEADERS) === 0 || this.headerBlock();
  }

  private onContinuation(flags: number, id: number, buf: Buffer, start: number, end: number): boolean {
    if (this.blocks.expecting === 0) return this.error(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without HEADERS');
    const why = this.blocks.add(buf, start, end);
    if (why !== null) return this.error(why.code, why.why);
    return (flags & Flag.END_HEADERS) === 0 || this.headerBlock();
  }

  /** A whole header block arrived: decode it (always, to keep HPACK in step), then open or end a stream. */
  private headerBlock(): boolean {
    const { id, endStream, block, start, end } = this.blocks.take();
    const fields: string[] = [];
    let fits: boolean;
    try {
      fits = this.decoder.decode(block, start, end, fields, this.limits.maxHeaderListSize);
    } catch (err) {
      if (err instanceof HpackError) return this.error(ErrorCode.COMPRESSION_ERROR, err.message);
      throw err;
    }
    const s = this.streams.get(id);
    if (s !== undefined) return this.trailers(s, endStream, fields);
    if (id <= this.lastStreamId) {
      // Trailers still in flight on a stream we reset are dropped; any other reuse of an id is an error (§5.1.1).
      return this.resetByUs.includes(id) || this.error(ErrorCode.PROTOCOL_ERROR, 'stream id reused');
    }
    this.lastStreamId = id;
    if (this.goingAway || this.streams.size >= this.limits.maxConcurrentStreams) {
      this.out.rstStream(id, ErrorCode.REFUSED_STREAM);
      this.streamReset(id);
      return this.goingAway || this.countReset();
    }
    const stream = new H2Stream(this, id, this.peerInitialWindow, STREAM_WINDOW);
    stream.remoteEnded = endStream;
    this.streams.set(id, stream);
    if (!fits) {
      stream.respond(431, { 'content-length': '0' }, true);
      if (!endStream) stream.reset(ErrorCode.NO_ERROR);
      return true;
    }
    const head = readRequestHead(fields);
    if (typeof head === 'string' || (endStream && head.contentLength > 0)) {
      stream.reset(ErrorCode.PROTOCOL_ERROR);
      return true;
    }
    stream.contentLength = head.contentLength;
    this.owner.openStream(this, stream, head);
    return !this.closed;
  }

  private trailers(s: H2Stream, endStream: boolean, fields: string[]): boolean {
    if (s.remoteEnded) s.reset(ErrorCode.STREAM_CLOSED);
    else if (!endStream) s.reset(ErrorCode.PROTOCOL_ERROR);
    else {
      const t = readTrailers(fields);
      if (typeof t === 'string' || (s.contentLength >= 0 && s.received !== s.contentLength)) s.reset(ErrorCode.PROTOCOL_ERROR);
      else s.remoteEnd(t.length > 0 ? t : null);
    }
    return true;
  }

  private onReset(id: number, buf: Buffer, start: number, end: number): boolean {
    if (end - start !== 4) return this.error(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM size');
    if (id === 0 || id > this.lastStreamId) return this.error(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
    const s = this.streams.get(id);
    if (s === undefined) return true;
    s.close(buf.readUInt32BE(start), false);
    return this.countReset();
  }

  /** Rapid reset (CVE-2023-44487): too many streams reset per second ends the connection. */
  private countReset(): boolean {
    return this.resetBudget.spend() || this.error(ErrorCode.ENHANCE_YOUR_CALM, 'too many streams reset');
  }

  private onSettings(flags: number, id: number, buf: Buffer, start: number, end: number): boolean {
    if (id !== 0) return this.error(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & Flag.ACK) return end === start || this.error(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
    if ((end - start) % 6 !== 0) return this.error(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS size');
    if (!this.controlBudget.spend()) return this.error(ErrorCode.ENHANCE_YOUR_CALM, 'too many SETTINGS frames');
    this.settingsSeen = true;
    const got = readSettings(buf, start, end);
    if ('code' in got) return this.error(got.code, got.why);
    if (got.maxFrame !== -1) this.peerMaxFrame = got.maxFrame;
    if (got.initialWindow !== -1) this.newInitialWindow(got.initialWindow);
    this.out.settingsAck();
    return true;
  }

  /** SETTINGS_INITIAL_WINDOW_SIZE changed: every open stream's window moves by the difference (§6.9.2). */
  private newInitialWindow(value: number): void {
    const delta = value - this.peerInitialWindow;
    this.peerInitialWindow = value;
    for (const s of this.streams.values()) {
      s.sendWindow += delta;
      if (s.sendWindow > MAX_WINDOW) s.reset(ErrorCode.FLOW_CONTROL_ERROR);
    }
    if (delta > 0) this.resumeWaiting();
  }

  private onPing(flags: number, id: number, buf: Buffer, start: number, end: number): boolean {
    if (end - start !== 8) return this.error(ErrorCode.FRAME_SIZE_ERROR, 'PING size');
    if (id !== 0) return this.error(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
    if (flags & Flag.ACK) return true;
    if (!this.controlBudget.spend()) return this.error(ErrorCode.ENHANCE_YOUR_CALM, 'too many PING frames');
    this.out.pingAck(buf, start);
    return true;
  }

  private onGoaway(id: number): boolean {
    if (id !== 0) return this.error(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
    this.goingAway = true;
    this.closeIfDone();
    return !this.closed;
  }

  private onWindowUpdate(id: number, buf: Buffer, start: number, end: number): boolean {
    if (end - start !== 4) return this.error(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE size');
    const increment = buf.readUInt32BE(start) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) return this.error(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) return this.error(ErrorCode.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
      this.resumeWaiting();
      return true;
    }
    if (id > this.lastStreamId) return this.error(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
    const s = this.streams.get(id);
    if (s === undefined) return true;
    if (increment === 0) s.reset(ErrorCode.PROTOCOL_ERROR);
    else if ((s.sendWindow += increment) > MAX_WINDOW) s.reset(ErrorCode.FLOW_CONTROL_ERROR);
    else if (this.waitingForWindow.delete(s)) s.resumeSending();
    return true;
  }

}
