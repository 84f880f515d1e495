/**
 * Optional copy of a chunked body's trailer section with field offsets into that copy. The
 * section spans buffers the walker does not own, so offsets into them would not survive;
 * trailers are rare and small, so copying them is cheap.
 */
import { HTAB, SP } from './chars.js';
import { S_TRAILER_LF, S_TRAILER_LINE, S_TRAILER_NAME, S_TRAILER_OWS, S_TRAILER_VALUE } from './chunk-states.js';

/** Slots per field in offsets: name start, name end (the colon), value start, value end. */
export const TRAILER_STRIDE = 4;

export class TrailerCollector {
  count = 0;
  /** TRAILER_STRIDE offsets per field, relative to buffer. */
  offsets = new Int32Array(TRAILER_STRIDE * 4);
  #chunks: Buffer[] = [];
  #joined: Buffer | null = null;
  #pos = 0;
  #field = new Int32Array(TRAILER_STRIDE);

  reset(): void {
    this.count = this.#pos = 0;
    if (this.#chunks.length > 0) this.#chunks = [];
    this.#joined = null;
  }

  /** Follows one byte's state transition to find where names and values start and end. */
  step(prev: number, next: number, c: number): void {
    const pos = this.#pos++;
    const f = this.#field;
    if (next === S_TRAILER_NAME && prev === S_TRAILER_LINE) f[0] = pos;
    else if (next === S_TRAILER_OWS && prev === S_TRAILER_NAME) f[1] = pos;
    else if (prev === S_TRAILER_OWS && next !== S_TRAILER_OWS) {
      f[2] = pos;
      f[3] = next === S_TRAILER_VALUE ? pos + 1 : pos;
    } else if (next === S_TRAILER_VALUE && c !== SP && c !== HTAB) f[3] = pos + 1;
    else if (prev === S_TRAILER_LF && next === S_TRAILER_LINE) this.#push();
  }

  /** Keeps a copy of buf[from, to), which the caller may reuse after feed() returns. */
  append(buf: Uint8Array, from: number, to: number): void {
    if (to === from) return;
    this.#chunks.push(Buffer.from(buf.subarray(from, to)));
    this.#joined = null;
  }

  /** The trailer section as received, final CRLF included. */
  get buffer(): Buffer {
    this.#joined ??= Buffer.concat(this.#chunks);
    return this.#joined;
  }

  nameAt(i: number): string {
    return this.buffer.toString('latin1', this.offsets[i * TRAILER_STRIDE]!, this.offsets[i * TRAILER_STRIDE + 1]!);
  }

  valueAt(i: number): string {
    return this.buffer.toString('latin1', this.offsets[i * TRAILER_STRIDE + 2]!, this.offsets[i * TRAILER_STRIDE + 3]!);
  }

  #push(): void {
    const o = this.count * TRAILER_STRIDE;
    if (o === this.offsets.length) {
      const bigger = new Int32Array(o * 2);
      bigger.set(this.offsets);
      this.offsets = bigger;
    }
    this.offsets.set(this.#field, o);
    this.count++;
  }
}
