/**
 * What the parsers learn from a message head. Header lines are kept as offsets into the
 * parsed buffer, so the engine copies untouched lines verbatim without making strings.
 */
import { KIND_MASK } from './header-kinds.js';

/** How the body of a message is delimited (RFC 9112 §6.3). */
export const Body = Object.freeze({ NONE: 0, FIXED: 1, CHUNKED: 2, CLOSE: 3 });
export type BodyKind = (typeof Body)[keyof typeof Body];

/** Slots of one header line in MessageHead.offsets: FIELD_STRIDE numbers per line. */
export const FIELD_STRIDE = 5;
/** First byte of the name, which is also the first byte of the line. */
export const NAME_START = 0;
/** End of the name: the offset of the colon. */
export const NAME_END = 1;
/** Value, OWS trimmed on both sides (start === end for an empty value). */
export const VALUE_START = 2;
export const VALUE_END = 3;
/** Offset just past the line's CRLF: [NAME_START, LINE_END) is the whole line. */
export const LINE_END = 4;

const EMPTY = Buffer.alloc(0);
const INITIAL_FIELDS = 32;

export class MessageHead {
  /** The buffer every offset refers to (the one passed to the parser's last call). */
  buffer: Buffer = EMPTY;
  /** First byte of the start line (after any skipped empty lines). */
  headStart = 0;
  /** Offset just past the CRLF that ends the head: the first body byte. */
  headEnd = 0;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  versionMinor = 1;

  headerCount = 0;
  /** FIELD_STRIDE offsets per header line, see NAME_START..LINE_END. */
  offsets = new Int32Array(INITIAL_FIELDS * FIELD_STRIDE);
  /** Per header line: a HeaderKind in the low bits plus FLAG_HOP_BY_HOP / FLAG_CONNECTION_LISTED. */
  flags = new Uint8Array(INITIAL_FIELDS);

  /** Declared Content-Length, or -1. */
  contentLength = -1;
  bodyKind: BodyKind = Body.NONE;
  /** A Transfer-Encoding header was present (whatever the body kind ended up being). */
  hasTransferEncoding = false;
  /** Some transfer coding is not one of chunked, gzip, x-gzip, deflate, compress, x-compress. */
  unknownTransferCoding = false;
  /** How many times "chunked" was listed, and whether it is the final coding so far. */
  chunkedCount = 0;
  chunkedLast = false;

  connectionClose = false;
  connectionKeepAlive = false;
  connectionUpgrade = false;
  /** Whether the connection may carry another message after this one. */
  keepAlive = true;
  /** Other Connection tokens, as [start, end) pairs into buffer. */
  connectionNameCount = 0;
  connectionNames = new Int32Array(8);

  /** Value offsets of the (first) Upgrade header, -1 when absent. */
  upgradeStart = -1;
  upgradeEnd = -1;
  /** A Trailer header announced trailer fields. */
  hasTrailerHeader = false;

  /** Clears everything a previous message left, keeping the allocated arrays. */
  reset(buffer: Buffer, start: number): void {
    this.buffer = buffer;
    this.headStart = start;
    this.headEnd = 0;
    this.versionMinor = 1;
    this.headerCount = 0;
    this.contentLength = -1;
    this.bodyKind = Body.NONE;
    this.hasTransferEncoding = this.unknownTransferCoding = this.chunkedLast = false;
    this.chunkedCount = 0;
    this.connectionClose = this.connectionKeepAlive = this.connectionUpgrade = false;
    this.keepAlive = true;
    this.connectionNameCount = 0;
    this.upgradeStart = this.upgradeEnd = -1;
    this.hasTrailerHeader = false;
  }

  /** Appends one header line and returns its index. */
  addField(nameStart: number, nameEnd: number, valueStart: number, valueEnd: number, lineEnd: number, flags: number): number {
    const i = this.headerCount;
    if (i === this.flags.length) this.#grow();
    const o = i * FIELD_STRIDE;
    const offsets = this.offsets;
    offsets[o] = nameStart;
    offsets[o + 1] = nameEnd;
    offsets[o + 2] = valueStart;
    offsets[o + 3] = valueEnd;
    offsets[o + 4] = lineEnd;
    this.flags[i] = flags;
    this.headerCount = i + 1;
    return i;
  }

  addConnectionName(start: number, end: number): void {
    const o = this.connectionNameCount * 2;
    if (o === this.connectionNames.length) {
      const bigger = new Int32Array(o * 2);
      bigger.set(this.connectionNames);
      this.connectionNames = bigger;
    }
    this.connectionNames[o] = start;
    this.connectionNames[o + 1] = end;
    this.connectionNameCount++;
  }

  #grow(): void {
    const offsets = new Int32Array(this.offsets.length * 2);
    offsets.set(this.offsets);
    this.offsets = offsets;
    const flags = new Uint8Array(this.flags.length * 2);
    flags.set(this.flags);
    this.flags = flags;
  }

  /** The body is chunked (bodyKind === Body.CHUNKED). */
  get chunked(): boolean {
    return this.bodyKind === Body.CHUNKED;
  }

  /** HeaderKind of line i. */
  kindAt(i: number): number {
    return this.flags[i]! & KIND_MASK;
  }

  /** Name of line i as sent (allocates: for tests, logs and cold paths). */
  nameAt(i: number): string {
    const o = i * FIELD_STRIDE;
    return this.buffer.toString('latin1', this.offsets[o]!, this.offsets[o + NAME_END]!);
  }

  /** Value of line i, OWS trimmed, one char per byte (allocates). */
  valueAt(i: number): string {
    const o = i * FIELD_STRIDE;
    return this.buffer.toString('latin1', this.offsets[o + VALUE_START]!, this.offsets[o + VALUE_END]!);
  }

  /** Index of the first line of the given kind, or -1. */
  indexOfKind(kind: number): number {
    for (let i = 0; i < this.headerCount; i++) if ((this.flags[i]! & KIND_MASK) === kind) return i;
    return -1;
  }

  /** The Upgrade header value, '' when absent (allocates). */
  get upgradeValue(): string {
    return this.upgradeStart < 0 ? '' : this.buffer.toString('latin1', this.upgradeStart, this.upgradeEnd);
  }

  /** Connection-listed names in lower case (allocates). */
  connectionNameList(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.connectionNameCount * 2; i += 2) {
      out.push(this.buffer.toString('latin1', this.connectionNames[i]!, this.connectionNames[i + 1]!).toLowerCase());
    }
    return out;
  }
}
