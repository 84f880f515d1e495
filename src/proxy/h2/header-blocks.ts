/**
 * Assembles one header block from HEADERS and its CONTINUATION frames (RFC 9113 §6.2, §6.10),
 * bounded: a block larger than the header list we accept, or split into too many frames (the
 * CONTINUATION flood), ends the connection instead of growing without limit.
 */
import { ErrorCode, Flag } from './frames.js';

/** Frames one block may span. */
const MAX_FRAMES = 64;

export interface BlockError {
  readonly code: number;
  readonly why: string;
}

export interface HeaderBlock {
  readonly id: number;
  readonly endStream: boolean;
  readonly block: Buffer;
  readonly start: number;
  readonly end: number;
}

export class HeaderBlocks {
  /** Stream whose block awaits CONTINUATION, 0 when none. */
  expecting = 0;
  private id = 0;
  private endStream = false;
  private parts: Buffer[] = [];
  private size = 0;
  /** The single-frame block (END_HEADERS on HEADERS): a span of the read buffer, not copied. */
  private whole: Buffer | null = null;
  private wholeStart = 0;
  private wholeEnd = 0;
  private readonly maxSize: number;

  /** `maxListSize`: our SETTINGS_MAX_HEADER_LIST_SIZE; the compressed block may not exceed it. */
  constructor(maxListSize: number) {
    this.maxSize = maxListSize;
  }

  /** A HEADERS frame: strips padding and priority, starts the block. */
  begin(flags: number, id: number, buf: Buffer, start: number, end: number): BlockError | null {
    let blockEnd = end;
    if (flags & Flag.PADDED) {
      if (start >= end) return { code: ErrorCode.FRAME_SIZE_ERROR, why: 'HEADERS too short for its padding' };
      const pad = buf[start++]!;
      if (pad > end - start) return { code: ErrorCode.PROTOCOL_ERROR, why: 'padding longer than the frame' };
      blockEnd = end - pad;
    }
    if (flags & Flag.PRIORITY) {
      if (blockEnd - start < 5) return { code: ErrorCode.FRAME_SIZE_ERROR, why: 'HEADERS too short for its priority' };
      start += 5; // priority is parsed past and ignored (RFC 9113 §5.3.2)
    }
    this.id = id;
    this.endStream = (flags & Flag.END_STREAM) !== 0;
    if (flags & Flag.END_HEADERS) {
      this.whole = buf;
      this.wholeStart = start;
      this.wholeEnd = blockEnd;
      return null;
    }
    this.expecting = id;
    this.parts = [];
    this.size = 0;
    return this.add(buf, start, blockEnd);
  }

  /** A CONTINUATION frame's fragment. */
  add(buf: Buffer, start: number, end: number): BlockError | null {
    this.size += end - start;
    if (this.size > this.maxSize || this.parts.length >= MAX_FRAMES) {
      return { code: ErrorCode.ENHANCE_YOUR_CALM, why: 'header block too large or in too many frames' };
    }
    this.parts.push(Buffer.from(buf.subarray(start, end)));
    return null;
  }

  /** The block just completed (END_HEADERS seen). */
  take(): HeaderBlock {
    const id = this.id;
    const endStream = this.endStream;
    this.expecting = 0;
    if (this.whole !== null) {
      const block = this.whole;
      this.whole = null;
      return { id, endStream, block, start: this.wholeStart, end: this.wholeEnd };
    }
    const block = Buffer.concat(this.parts);
    this.parts = [];
    return { id, endStream, block, start: 0, end: block.length };
  }
}
