/**
 * HTTP/2 as a client writes it, byte by byte, for tests that send crafted frames (unit tests of
 * the connection, hostile clients over TLS) and read the server's frames back.
 */
import { HpackDecoder } from '../../src/proxy/h2/hpack/decoder.js';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const T = Object.freeze({ DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 });
export const F = Object.freeze({ END_STREAM: 1, ACK: 1, END_HEADERS: 4, PADDED: 8, PRIORITY: 0x20 });

export function frame(type: number, flags: number, id: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const h = Buffer.alloc(9);
  h.writeUIntBE(p.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, p]);
}

export function settings(pairs: [number, number][] = []): Buffer {
  const p = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([k, v], i) => { p.writeUInt16BE(k, 6 * i); p.writeUInt32BE(v, 6 * i + 2); });
  return frame(T.SETTINGS, 0, 0, p);
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function windowUpdate(id: number, n: number): Buffer {
  return frame(T.WINDOW_UPDATE, 0, id, u32(n));
}

export function rst(id: number, code: number): Buffer {
  return frame(T.RST_STREAM, 0, id, u32(code));
}

/** A header block of literal fields without indexing, no Huffman (RFC 7541 §6.2.2). */
export function block(fields: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  const int7 = (n: number): Buffer => {
    if (n < 127) return Buffer.from([n]);
    const out = [127];
    n -= 127;
    while (n >= 128) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
    out.push(n);
    return Buffer.from(out);
  };
  for (const [name, value] of fields) parts.push(Buffer.from([0]), int7(name.length), Buffer.from(name, 'latin1'), int7(value.length), Buffer.from(value, 'latin1'));
  return Buffer.concat(parts);
}

export function request(path = '/', extra: [string, string][] = [], method = 'GET'): [string, string][] {
  return [[':method', method], [':scheme', 'https'], [':path', path], [':authority', 'example.test'], ...extra];
}

export function headers(id: number, fields: [string, string][], endStream = true): Buffer {
  return frame(T.HEADERS, F.END_HEADERS | (endStream ? F.END_STREAM : 0), id, block(fields));
}

export interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
  /** HEADERS: the decoded fields of its whole block (with its CONTINUATIONs). */
  fields?: [string, string][];
}

/** Reads frames out of what a server wrote, decoding header blocks with one HPACK decoder. */
export class FrameReader {
  private buf = Buffer.alloc(0);
  private readonly hpack = new HpackDecoder(4096);
  readonly frames: Frame[] = [];
  /** The HEADERS frame whose block is still arriving (CONTINUATION), and the block so far. */
  private open: Frame | null = null;
  private block: Buffer[] = [];

  push(chunk: Buffer): Frame[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const got: Frame[] = [];
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      const f: Frame = { type: this.buf[3]!, flags: this.buf[4]!, id: this.buf.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(this.buf.subarray(9, 9 + len)) };
      this.buf = this.buf.subarray(9 + len);
      if (f.type === T.HEADERS) {
        this.open = f;
        this.block = [f.payload];
      } else if (f.type === T.CONTINUATION) {
        this.block.push(f.payload);
      }
      if ((f.type === T.HEADERS || f.type === T.CONTINUATION) && (f.flags & F.END_HEADERS) !== 0 && this.open !== null) {
        const whole = Buffer.concat(this.block);
        const out: string[] = [];
        this.hpack.decode(whole, 0, whole.length, out, 1 << 20);
        this.open.fields = [];
        for (let i = 0; i < out.length; i += 2) this.open.fields.push([out[i]!, out[i + 1]!]);
        this.open = null;
      }
      got.push(f);
      this.frames.push(f);
    }
    return got;
  }

  /** GOAWAY's error code, or -1 when none came. */
  goawayCode(): number {
    const g = this.frames.find((f) => f.type === T.GOAWAY);
    return g === undefined ? -1 : g.payload.readUInt32BE(4);
  }

  /** RST_STREAM code for stream `id`, or -1. */
  resetCode(id: number): number {
    const r = this.frames.find((f) => f.type === T.RST_STREAM && f.id === id);
    return r === undefined ? -1 : r.payload.readUInt32BE(0);
  }
}
