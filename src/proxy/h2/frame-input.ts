/**
 * Splits the bytes a client sends into HTTP/2 frames: checks the connection preface (RFC 9113
 * §3.4), then hands each whole frame to `onFrame` as a span of the read buffer, keeping a partial
 * frame for the next read.
 */
import { CLIENT_PREFACE, ErrorCode, FRAME_HEADER } from './frames.js';

export interface FrameSink {
  /** One frame; payload is buf[start, end), valid during the call. False: stop reading (connection failed). */
  onFrame(type: number, flags: number, streamId: number, buf: Buffer, start: number, end: number): boolean;
  /** The input cannot be HTTP/2 (bad preface, oversized frame). */
  inputError(code: number, why: string): void;
}

export class FrameInput {
  private leftover: Buffer | null = null;
  private prefaceSeen = false;
  private readonly maxFrame: number;
  private readonly sink: FrameSink;

  /** `maxFrame`: our SETTINGS_MAX_FRAME_SIZE. */
  constructor(sink: FrameSink, maxFrame: number) {
    this.sink = sink;
    this.maxFrame = maxFrame;
  }

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.leftover !== null) {
      buf = Buffer.concat([this.leftover, chunk]);
      this.leftover = null;
    }
    let at = 0;
    if (!this.prefaceSeen) {
      const n = Math.min(buf.length, CLIENT_PREFACE.length);
      if (buf.compare(CLIENT_PREFACE, 0, n, 0, n) !== 0) return this.sink.inputError(ErrorCode.PROTOCOL_ERROR, 'bad connection preface');
      if (n < CLIENT_PREFACE.length) {
        this.leftover = Buffer.from(buf);
        return;
      }
      this.prefaceSeen = true;
      at = n;
    }
    while (buf.length - at >= FRAME_HEADER) {
      const length = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
      if (length > this.maxFrame) return this.sink.inputError(ErrorCode.FRAME_SIZE_ERROR, 'frame larger than SETTINGS_MAX_FRAME_SIZE');
      const start = at + FRAME_HEADER;
      if (buf.length - start < length) break;
      const id = buf.readUInt32BE(at + 5) & 0x7fffffff;
      if (!this.sink.onFrame(buf[at + 3]!, buf[at + 4]!, id, buf, start, start + length)) return;
      at = start + length;
    }
    // A partial frame: copied, so the read buffer it came in is not kept alive for it.
    if (at < buf.length) this.leftover = Buffer.from(buf.subarray(at));
  }
}
