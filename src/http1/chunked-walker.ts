/**
 * Walks a chunked body (RFC 9112 §7.1) across the buffers it arrives in, without copying or
 * re-framing them: it only says how many bytes of each buffer belong to the message, and
 * whether the message is complete. The engine relays the original bytes.
 */
import { CR, HEX, LF, SEMI } from './chars.js';
import { E, errorFor } from './errors.js';
import type { Http1Error, Side } from './errors.js';
import type { BodyFramer } from './body-framer.js';
import {
  S_DATA, S_DATA_CR, S_DATA_LF, S_DONE, S_ERROR, S_EXT_NAME_START, S_SIZE, S_SIZE_LF, S_SIZE_START,
  S_TRAILER_LINE, extensionStep, trailerStep,
} from './chunk-states.js';
import { TrailerCollector } from './trailer-collector.js';

export interface ChunkedWalkerOptions {
  /** Decides the error status: 400-class for requests, 502 for upstream responses. Default 'request'. */
  readonly side?: Side;
  /** Longest chunk-size line, extensions and CRLF included (default 4 KiB). */
  readonly maxLineBytes?: number;
  /** Largest trailer section, final CRLF included (default 16 KiB). */
  readonly maxTrailerBytes?: number;
  /** Keep a copy of the trailer section and the offsets of its fields (default false: validate only). */
  readonly collectTrailers?: boolean;
}

/** Receives the data bytes of a chunked body as spans of the buffers it was fed (no framing, no copy). */
export interface SpanSink {
  /** buf[start, end) is chunk data; only valid during the call. */
  span(buf: Buffer, start: number, end: number): void;
}

/** Largest size that can take one more hex digit and stay a safe integer. */
const MAX_SIZE_BEFORE_DIGIT = 2 ** 49 - 1;

export class ChunkedWalker implements BodyFramer {
  error: Http1Error | null = null;
  /** Chunk data bytes seen so far (the decoded body length). */
  dataBytes = 0;
  /** Size of the trailer section seen so far, final CRLF included. */
  trailerBytes = 0;
  /** The trailer fields, when collectTrailers is on. */
  readonly trailers: TrailerCollector | null;
  readonly maxLineBytes: number;
  readonly maxTrailerBytes: number;
  /** When set, feed() reports every run of data bytes to it as it walks (for taps and HTTP/2 clients). */
  sink: SpanSink | null = null;
  /** With collectTrailers: whether to collect this message's trailers (off: validate only, no copy). */
  collect = true;
  readonly #side: Side;
  #state = S_SIZE_START;
  #size = 0;
  #remaining = 0;
  #lineBytes = 0;

  constructor(options?: ChunkedWalkerOptions) {
    this.#side = options?.side ?? 'request';
    this.maxLineBytes = options?.maxLineBytes ?? 4096;
    this.maxTrailerBytes = options?.maxTrailerBytes ?? 16 * 1024;
    this.trailers = options?.collectTrailers === true ? new TrailerCollector() : null;
  }

  /** Starts over for the next message. */
  reset(): void {
    this.#state = S_SIZE_START;
    this.#size = this.#remaining = this.#lineBytes = this.dataBytes = this.trailerBytes = 0;
    this.error = null;
    this.trailers?.reset();
  }

  get done(): boolean {
    return this.#state === S_DONE;
  }

  feed(buf: Uint8Array, start = 0, end = buf.length): number {
    if (this.#state === S_ERROR) return -1;
    let i = start;
    while (i < end) {
      const st = this.#state;
      if (st === S_DATA) {
        const n = end - i < this.#remaining ? end - i : this.#remaining;
        if (this.sink !== null && n > 0) this.sink.span(buf as Buffer, i, i + n);
        i += n;
        this.#remaining -= n;
        if (this.#remaining === 0) this.#state = S_DATA_CR;
      } else if (st <= S_SIZE_LF) i = this.#sizeLine(buf, i, end);
      else if (st <= S_DATA_LF) i = this.#dataEnd(buf, i);
      else if (st === S_DONE) break;
      else i = this.#trailer(buf, i, end);
      if (i < 0) return this.#fail(-i);
    }
    return i - start;
  }

  /** chunk-size [chunk-ext] CRLF, byte by byte; hands extension bytes to extensionStep. */
  #sizeLine(buf: Uint8Array, i: number, end: number): number {
    let st = this.#state;
    for (; i < end; i++) {
      if (++this.#lineBytes > this.maxLineBytes) return -E.CHUNK_LINE_TOO_LONG;
      const c = buf[i]!;
      if (st === S_SIZE_LF) {
        if (c !== LF) return -E.BAD_CHUNK_SIZE;
        this.#sizeLineDone();
        return i + 1;
      }
      if (st <= S_SIZE) st = this.#sizeDigit(st, c);
      else st = extensionStep(st, c);
      if (st < 0) return st;
    }
    this.#state = st;
    return i;
  }

  /** A hex digit of the size, or what ends the digits (';' or CR). No whitespace allowed. */
  #sizeDigit(st: number, c: number): number {
    const d = HEX[c]!;
    if (d >= 0) {
      if (this.#size > MAX_SIZE_BEFORE_DIGIT) return -E.BAD_CHUNK_SIZE;
      this.#size = this.#size * 16 + d;
      return S_SIZE;
    }
    if (st === S_SIZE_START) return -E.BAD_CHUNK_SIZE;
    if (c === SEMI) return S_EXT_NAME_START;
    if (c === CR) return S_SIZE_LF;
    return -E.BAD_CHUNK_SIZE; // whitespace, a bare LF, anything else
  }

  #sizeLineDone(): void {
    const size = this.#size;
    this.#size = this.#lineBytes = 0;
    this.dataBytes += size;
    this.#remaining = size;
    this.#state = size === 0 ? S_TRAILER_LINE : S_DATA;
  }

  /** The CRLF that must follow chunk data. */
  #dataEnd(buf: Uint8Array, i: number): number {
    const c = buf[i];
    if (this.#state === S_DATA_CR) {
      if (c !== CR) return -E.BAD_CHUNK_END;
      this.#state = S_DATA_LF;
    } else {
      if (c !== LF) return -E.BAD_CHUNK_END;
      this.#state = S_SIZE_START;
    }
    return i + 1;
  }

  /** Trailer fields and the final CRLF, validated byte by byte and optionally collected. */
  #trailer(buf: Uint8Array, i: number, end: number): number {
    const from = i;
    const collector = this.collect ? this.trailers : null;
    let st = this.#state;
    for (; i < end && st !== S_DONE; i++) {
      if (this.trailerBytes++ >= this.maxTrailerBytes) return -E.TRAILER_TOO_LARGE;
      const next = trailerStep(st, buf[i]!);
      if (next < 0) return next;
      collector?.step(st, next, buf[i]!);
      st = next;
    }
    collector?.append(buf, from, i);
    this.#state = st;
    return i;
  }

  #fail(id: number): number {
    this.error = errorFor(id, this.#side);
    this.#state = S_ERROR;
    return -1;
  }
}
