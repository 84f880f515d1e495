/**
 * The part of head parsing both directions share: the incremental driver, header lines, the
 * size limit. Subclasses parse their start line and decide framing when the head is complete.
 *
 * Incremental contract: after PARSE_NEED_MORE, call parse() again with the same start and a
 * buffer whose bytes from start begin with the bytes seen so far (typically the old bytes with
 * new ones appended). Complete lines are never re-read; the line in progress is re-read only
 * when a newly arrived byte could change the verdict, so trickled input costs linear time and
 * any split of the input gives exactly the one-shot result.
 */
import { COLON, CR, FIELD_VALUE, HTAB, LF, SP, TOKEN } from './chars.js';
import { E, NEED_MORE, errorFor } from './errors.js';
import type { Http1Error, Side } from './errors.js';
import { KIND_FLAGS, classifyName } from './header-kinds.js';
import type { MessageHead } from './message-head.js';
import { skipFieldValue, viewOf } from './swar.js';

const EMPTY = new Uint8Array(0);
const NO_BUFFER = Buffer.alloc(0);

/** parse() result when the head is incomplete (and still within the size limit). */
export const PARSE_NEED_MORE = -1;
/** parse() result when the head is invalid: see parser.error. */
export const PARSE_ERROR = -2;

export const DEFAULT_MAX_HEAD_SIZE = 16 * 1024;

export interface HeadParserOptions {
  /** Largest accepted head in bytes, start line and final CRLF included (default 16 KiB). */
  readonly maxHeadSize?: number;
}

export abstract class HeadParser<H extends MessageHead> {
  readonly head: H;
  readonly maxHeadSize: number;
  /** Set when parse() returned PARSE_ERROR. */
  error: Http1Error | null = null;
  /** Start of the line on which the error was found. */
  errorOffset = -1;
  readonly #side: Side;
  /** Start offset of the message in progress, -1 when idle. */
  #start = -1;
  /** Next line to parse. */
  #pos = 0;
  #inFields = false;
  /** Bytes before this offset were seen by the attempt that returned PARSE_NEED_MORE. */
  #scanned = 0;
  /** While every new byte is in this table, the line in progress stays incomplete. */
  #cont: Uint8Array | null = null;
  /** Word-wise view of the buffer being parsed (see swar.ts), rebuilt when the buffer changes. */
  protected view: DataView = viewOf(EMPTY);
  #viewOf: Uint8Array = EMPTY;

  constructor(head: H, side: Side, options: HeadParserOptions | undefined) {
    this.head = head;
    this.#side = side;
    this.maxHeadSize = options?.maxHeadSize ?? DEFAULT_MAX_HEAD_SIZE;
  }

  /** Forgets a partial head (e.g. when the connection is reused for something else). */
  reset(): void {
    this.#start = -1;
  }

  /** Forgets the partial head and drops every reference to the last buffer parsed (before the parser is set aside). */
  forgetBuffer(): void {
    this.#start = -1;
    this.view = viewOf(EMPTY);
    this.#viewOf = EMPTY;
    this.head.buffer = NO_BUFFER;
  }

  /**
   * Parses the head starting at buf[start]. Returns the offset just past the head (> 0) when
   * it is complete, PARSE_NEED_MORE, or PARSE_ERROR. The head object is reused by the next call.
   */
  parse(buf: Buffer, start = 0): number {
    const limit = start + this.maxHeadSize;
    const end = buf.length < limit ? buf.length : limit;
    if (start !== this.#start) this.#begin(buf, start);
    else if (this.#stillIncomplete(buf, end)) return this.#needMore(end, limit);
    this.head.buffer = buf;
    if (buf !== this.#viewOf) {
      this.view = viewOf(buf);
      this.#viewOf = buf;
    }
    let p = this.#pos;
    if (!this.#inFields) {
      const r = this.startLine(buf, p, end);
      if (r < 0) return this.#stop(r, end, limit);
      this.#pos = p = r;
      this.#inFields = true;
    }
    for (;;) {
      const r = this.#lineOrEnd(buf, p, end);
      if (r < 0) return this.#stop(r, end, limit);
      if (r === 0) return this.#complete(p + 2);
      this.#pos = p = r;
    }
  }

  /** Parses the start line at p; returns the next line's offset, NEED_MORE or -errorId. */
  protected abstract startLine(buf: Buffer, p: number, end: number): number;
  /** Gives a recognised header its meaning; returns 0 or an error id. */
  protected abstract applyField(kind: number, buf: Buffer, vs: number, ve: number): number;
  /** Checks the complete head and decides framing; returns 0 or an error id. */
  protected abstract finish(): number;

  /** Records which bytes keep the current line incomplete, and returns NEED_MORE. */
  protected needIn(cont: Uint8Array | null): number {
    this.#cont = cont;
    return NEED_MORE;
  }

  #begin(buf: Buffer, start: number): void {
    this.#start = this.#pos = start;
    this.#inFields = false;
    this.#cont = null;
    this.error = null;
    this.errorOffset = -1;
    this.head.reset(buf, start);
  }

  #stillIncomplete(buf: Buffer, end: number): boolean {
    const cont = this.#cont;
    if (cont === null) return false;
    for (let i = this.#scanned; i < end; i++) if (cont[buf[i]!] !== 1) return false;
    return true;
  }

  /** One header line at p: its end offset, 0 for the empty line that ends the head, or < 0. */
  #lineOrEnd(buf: Buffer, p: number, end: number): number {
    if (p === end) return this.needIn(null);
    const c = buf[p]!;
    if (c === CR) {
      if (p + 1 === end) return this.needIn(null);
      return buf[p + 1] === LF ? 0 : -E.BARE_CR;
    }
    if (c === LF) return -E.BARE_LF;
    if (c === SP || c === HTAB) return -E.OBS_FOLD;
    return this.#fieldLine(buf, p, end);
  }

  /** name ":" OWS value OWS CRLF, recorded as offsets. */
  #fieldLine(buf: Buffer, p: number, end: number): number {
    let i = p;
    while (i < end && TOKEN[buf[i]!] === 1) i++;
    if (i === end) return this.needIn(TOKEN);
    const nameEnd = i;
    if (buf[i] !== COLON || i === p) return nameErrorAt(buf[i]!);
    i++;
    while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
    const vs = i;
    i = skipFieldValue(buf, this.view, i, end);
    if (i === end) return this.needIn(FIELD_VALUE);
    if (buf[i] !== CR) return buf[i] === LF ? -E.BARE_LF : -E.BAD_HEADER_VALUE;
    if (i + 1 === end) return this.needIn(null);
    if (buf[i + 1] !== LF) return -E.BARE_CR;
    let ve = i;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
    const kind = classifyName(buf, p, nameEnd);
    this.head.addField(p, nameEnd, vs, ve, i + 2, KIND_FLAGS[kind]!);
    if (kind !== 0) {
      const err = this.applyField(kind, buf, vs, ve);
      if (err !== 0) return -err;
    }
    return i + 2;
  }

  #stop(r: number, end: number, limit: number): number {
    return r === NEED_MORE ? this.#needMore(end, limit) : this.#fail(-r);
  }

  /** The head does not fit in the bytes we may look at: too large once the window is full. */
  #needMore(end: number, limit: number): number {
    if (end === limit) return this.#fail(E.HEAD_TOO_LARGE);
    this.#scanned = end;
    return PARSE_NEED_MORE;
  }

  #complete(headEnd: number): number {
    this.head.headEnd = headEnd;
    const err = this.finish();
    if (err !== 0) return this.#fail(err);
    this.#start = -1;
    return headEnd;
  }

  #fail(id: number): number {
    this.error = errorFor(id, this.#side);
    this.errorOffset = this.#pos;
    this.#start = -1;
    return PARSE_ERROR;
  }
}

/** Why a header name stopped before a colon (lines starting with whitespace never get here). */
function nameErrorAt(c: number): number {
  return c === SP || c === HTAB ? -E.SPACE_BEFORE_COLON : -E.BAD_HEADER_NAME;
}
