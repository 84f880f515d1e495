/**
 * HTTP/2 frame layout (RFC 9113 §4, §6) and the connection's output: every frame produced while
 * handling one batch of work is appended to one buffer and leaves in one socket write, as the
 * HTTP/1.1 raw engine batches its writes. Buffers are bump-allocated: a region handed to the
 * socket is never written again, so no write waits for a copy.
 */

export const FrameType = Object.freeze({
  DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7,
  WINDOW_UPDATE: 8, CONTINUATION: 9,
});

export const Flag = Object.freeze({ END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 });

export const ErrorCode = Object.freeze({
  NO_ERROR: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2, FLOW_CONTROL_ERROR: 3, SETTINGS_TIMEOUT: 4, STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6, REFUSED_STREAM: 7, CANCEL: 8, COMPRESSION_ERROR: 9, CONNECT_ERROR: 10,
  ENHANCE_YOUR_CALM: 11, INADEQUATE_SECURITY: 12, HTTP_1_1_REQUIRED: 13,
});

export const Setting = Object.freeze({
  HEADER_TABLE_SIZE: 1, ENABLE_PUSH: 2, MAX_CONCURRENT_STREAMS: 3, INITIAL_WINDOW_SIZE: 4, MAX_FRAME_SIZE: 5,
  MAX_HEADER_LIST_SIZE: 6,
});

export const FRAME_HEADER = 9;
export const DEFAULT_WINDOW = 65_535;
export const DEFAULT_MAX_FRAME = 16_384;
export const MAX_WINDOW = 2 ** 31 - 1;
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Size of each output buffer; a larger single frame gets a buffer of its own size. */
const CHUNK = 32 * 1024;
const NONE = Buffer.alloc(0);

export class FrameWriter {
  /** The buffer frames are appended to; [start, pos) is written but not yet taken. */
  buf: Buffer = NONE;
  private start = 0;
  pos = 0;
  /** Regions of earlier buffers not yet taken. */
  private full: Buffer[] = [];

  /** Bytes waiting to be taken. */
  get pending(): number {
    let n = this.pos - this.start;
    for (const b of this.full) n += b.length;
    return n;
  }

  /** True while buf[offset] was written in this batch and may still be changed (not taken). */
  unsent(buf: Buffer, offset: number): boolean {
    return buf === this.buf && offset >= this.start;
  }

  /** Makes room for `n` more bytes at `pos`. */
  ensure(n: number): void {
    if (this.buf.length - this.pos >= n) return;
    if (this.pos > this.start) this.full.push(this.buf.subarray(this.start, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK, n));
    this.start = this.pos = 0;
  }

  /** Lets go of the buffer when nothing is pending (an idle connection holds none). */
  release(): void {
    if (this.pos !== this.start || this.full.length > 0) return;
    this.buf = NONE;
    this.start = this.pos = 0;
  }

  /** Everything written since the last take, to go to the socket; null when nothing was. */
  take(): Buffer[] | null {
    if (this.pos === this.start && this.full.length === 0) return null;
    const out = this.full;
    if (this.pos > this.start) out.push(this.buf.subarray(this.start, this.pos));
    this.full = [];
    this.start = this.pos;
    return out;
  }

  /** A frame header at `pos` (room must have been ensured); returns its offset. */
  header(length: number, type: number, flags: number, streamId: number): number {
    const b = this.buf;
    const at = this.pos;
    b[at] = length >>> 16;
    b[at + 1] = (length >>> 8) & 0xff;
    b[at + 2] = length & 0xff;
    b[at + 3] = type;
    b[at + 4] = flags;
    b.writeUInt32BE(streamId, at + 5);
    this.pos = at + FRAME_HEADER;
    return at;
  }

  settings(values: readonly (readonly [number, number])[]): void {
    this.ensure(FRAME_HEADER + 6 * values.length);
    this.header(6 * values.length, FrameType.SETTINGS, 0, 0);
    for (const [id, value] of values) {
      this.buf.writeUInt16BE(id, this.pos);
      this.buf.writeUInt32BE(value, this.pos + 2);
      this.pos += 6;
    }
  }

  settingsAck(): void {
    this.ensure(FRAME_HEADER);
    this.header(0, FrameType.SETTINGS, Flag.ACK, 0);
  }

  pingAck(payload: Buffer, at: number): void {
    this.ensure(FRAME_HEADER + 8);
    this.header(8, FrameType.PING, Flag.ACK, 0);
    payload.copy(this.buf, this.pos, at, at + 8);
    this.pos += 8;
  }

  goaway(lastStreamId: number, code: number): void {
    this.ensure(FRAME_HEADER + 8);
    this.header(8, FrameType.GOAWAY, 0, 0);
    this.buf.writeUInt32BE(lastStreamId, this.pos);
    this.buf.writeUInt32BE(code, this.pos + 4);
    this.pos += 8;
  }

  rstStream(streamId: number, code: number): void {
    this.ensure(FRAME_HEADER + 4);
    this.header(4, FrameType.RST_STREAM, 0, streamId);
    this.buf.writeUInt32BE(code, this.pos);
    this.pos += 4;
  }

  windowUpdate(streamId: number, increment: number): void {
    this.ensure(FRAME_HEADER + 4);
    this.header(4, FrameType.WINDOW_UPDATE, 0, streamId);
    this.buf.writeUInt32BE(increment, this.pos);
    this.pos += 4;
  }

  /** One DATA frame carrying data[from, to); returns the frame's offset in `buf`. */
  data(streamId: number, data: Buffer, from: number, to: number, endStream: boolean): number {
    this.ensure(FRAME_HEADER + to - from);
    const at = this.header(to - from, FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId);
    this.pos += data.copy(this.buf, this.pos, from, to);
    return at;
  }

  /**
   * Turns the header block written at [blockStart, pos) into HEADERS (+ CONTINUATION) frames no
   * larger than `maxFrame`. The caller reserved FRAME_HEADER bytes before blockStart. Returns the
   * HEADERS frame's offset in `buf`.
   */
  headersFrom(blockStart: number, streamId: number, endStream: boolean, maxFrame: number): number {
    const at = blockStart - FRAME_HEADER;
    const length = this.pos - blockStart;
    const endFlag = endStream ? Flag.END_STREAM : 0;
    if (length <= maxFrame) {
      this.pos = at;
      this.header(length, FrameType.HEADERS, endFlag | Flag.END_HEADERS, streamId);
      this.pos += length;
      return at;
    }
    const block = Buffer.from(this.buf.subarray(blockStart, this.pos));
    this.pos = at;
    this.ensure(length + FRAME_HEADER * Math.ceil(length / maxFrame));
    const first = this.pos;
    for (let off = 0; off < length; off += maxFrame) {
      const n = Math.min(maxFrame, length - off);
      const last = off + n === length ? Flag.END_HEADERS : 0;
      this.header(n, off === 0 ? FrameType.HEADERS : FrameType.CONTINUATION, (off === 0 ? endFlag : 0) | last, streamId);
      this.pos += block.copy(this.buf, this.pos, off, off + n);
    }
    return first;
  }
}
