/**
 * The msgpack dialect of go-msgpack 0.5.5 with a zero MsgpackHandle, which is
 * what memberlist 0.2.x reads and writes (memberlist-wire.md §3):
 *  - structs are maps keyed by Go field names in byte-wise sorted order;
 *  - strings and []byte are both the old "raw" type: fixstr, str16, str32,
 *    never str8 or bin (0.2.x decoders reject bin for string fields);
 *  - integers take the smallest unsigned form for non-negative values.
 *
 * Decoding uses @msgpack/msgpack with rawStrings, so every str value arrives
 * as bytes (IPs, LZW buffers and binary Meta would be corrupted by UTF-8
 * decoding); the field readers below turn them back into strings where the
 * Go type is a string. The encoder is written here because neither npm
 * library can emit str16 without str8 or bytes as str (§13).
 */
import { decode } from '@msgpack/msgpack';

export type WireValue = null | boolean | number | string | Uint8Array | WireMap;
export interface WireMap { readonly [key: string]: WireValue | undefined }

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void { this.room(1); this.buf[this.len++] = b; }

  uint(v: number, bytes: 1 | 2 | 4): void {
    this.room(bytes);
    for (let i = bytes - 1; i >= 0; i--) this.buf[this.len++] = (v / 2 ** (8 * i)) & 0xff;
  }

  raw(b: Uint8Array): void { this.room(b.length); this.buf.set(b, this.len); this.len += b.length; }

  done(): Uint8Array { return this.buf.slice(0, this.len); }
}

function writeInt(w: Writer, v: number): void {
  if (!Number.isInteger(v)) throw new TypeError(`msgpack: ${v} is not an integer`);
  if (v >= 0) {
    if (v < 0x80) w.byte(v);
    else if (v < 0x100) { w.byte(0xcc); w.uint(v, 1); }
    else if (v < 0x10000) { w.byte(0xcd); w.uint(v, 2); }
    else if (v < 0x100000000) { w.byte(0xce); w.uint(v, 4); }
    else { w.byte(0xcf); w.uint(Math.floor(v / 2 ** 32), 4); w.uint(v % 2 ** 32, 4); }
    return;
  }
  if (v >= -32) w.byte(v & 0xff);
  else if (v >= -128) { w.byte(0xd0); w.uint(v & 0xff, 1); }
  else if (v >= -32768) { w.byte(0xd1); w.uint(v & 0xffff, 2); }
  else { w.byte(0xd2); w.uint(v >>> 0, 4); }
}

function writeRaw(w: Writer, b: Uint8Array): void {
  if (b.length < 32) w.byte(0xa0 | b.length);
  else if (b.length < 0x10000) { w.byte(0xda); w.uint(b.length, 2); }
  else { w.byte(0xdb); w.uint(b.length, 4); }
  w.raw(b);
}

function writeValue(w: Writer, v: WireValue): void {
  if (v === null) w.byte(0xc0);
  else if (typeof v === 'boolean') w.byte(v ? 0xc3 : 0xc2);
  else if (typeof v === 'number') writeInt(w, v);
  else if (typeof v === 'string') writeRaw(w, utf8.encode(v));
  else if (v instanceof Uint8Array) writeRaw(w, v);
  else writeMap(w, v);
}

function writeMap(w: Writer, m: WireMap): void {
  // undefined fields are Go's omitempty: left out entirely.
  const keys = Object.keys(m).filter((k) => m[k] !== undefined).sort();
  if (keys.length < 16) w.byte(0x80 | keys.length);
  else { w.byte(0xde); w.uint(keys.length, 2); }
  for (const k of keys) { writeRaw(w, utf8.encode(k)); writeValue(w, m[k]!); }
}

/** One msgpack value in go-msgpack's dialect. */
export function encodeValue(v: WireValue): Uint8Array {
  const w = new Writer();
  writeValue(w, v);
  return w.done();
}

/** A message: one type byte followed by its msgpack body. */
export function encodeTyped(type: number, body: WireMap): Uint8Array {
  const w = new Writer();
  w.byte(type);
  writeMap(w, body);
  return w.done();
}

export class MsgpackError extends Error {}

/** Fixed sizes of the header-only formats c0…df, by (byte - 0xc0); -1 = invalid. */
const FIXED: Record<number, number> = {
  0xc0: 1, 0xc2: 1, 0xc3: 1, 0xca: 5, 0xcb: 9, 0xcc: 2, 0xcd: 3, 0xce: 5, 0xcf: 9,
  0xd0: 2, 0xd1: 3, 0xd2: 5, 0xd3: 9, 0xd4: 3, 0xd5: 4, 0xd6: 6, 0xd7: 10, 0xd8: 18,
};

const MAX_DEPTH = 32;

/**
 * Where the msgpack value starting at `pos` ends, or -1 if `buf` stops before
 * it does. Streams carry no length prefix (§7), so a reader finds message
 * boundaries with this before decoding.
 */
export function valueEnd(buf: Uint8Array, pos: number, depth = 0): number {
  if (depth > MAX_DEPTH) throw new MsgpackError('msgpack: nesting too deep');
  if (pos >= buf.length) return -1;
  const b = buf[pos]!;
  if (b < 0x80 || b >= 0xe0) return pos + 1;
  if (b < 0x90) return skipItems(buf, pos + 1, (b & 0x0f) * 2, depth);
  if (b < 0xa0) return skipItems(buf, pos + 1, b & 0x0f, depth);
  if (b < 0xc0) return pos + 1 + (b & 0x1f);
  const fixed = FIXED[b];
  if (fixed !== undefined) return pos + fixed;
  const size = b === 0xc4 || b === 0xc7 || b === 0xd9 ? 1
    : b === 0xc5 || b === 0xc8 || b === 0xda || b === 0xdc || b === 0xde ? 2
      : b === 0xc6 || b === 0xc9 || b === 0xdb || b === 0xdd || b === 0xdf ? 4 : 0;
  if (size === 0) throw new MsgpackError(`msgpack: invalid byte 0x${b.toString(16)}`);
  if (pos + 1 + size > buf.length) return -1;
  let n = 0;
  for (let i = 0; i < size; i++) n = n * 256 + buf[pos + 1 + i]!;
  const body = pos + 1 + size;
  if (b === 0xdc || b === 0xdd) return skipItems(buf, body, n, depth);
  if (b === 0xde || b === 0xdf) return skipItems(buf, body, n * 2, depth);
  const ext = b >= 0xc7 && b <= 0xc9 ? 1 : 0;
  return body + ext + n;
}

function skipItems(buf: Uint8Array, pos: number, count: number, depth: number): number {
  for (let i = 0; i < count; i++) {
    pos = valueEnd(buf, pos, depth + 1);
    if (pos < 0 || pos > buf.length) return -1;
  }
  return pos;
}

/** Decode exactly one map; str values come back as bytes. */
export function decodeMap(buf: Uint8Array): WireMap {
  let v: unknown;
  try {
    v = decode(buf, { rawStrings: true, useBigInt64: false });
  } catch (err) {
    throw new MsgpackError(`msgpack: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array || Array.isArray(v)) {
    throw new MsgpackError('msgpack: expected a map');
  }
  return v as WireMap;
}

/** A Go string field: raw bytes as UTF-8; missing or nil is "". */
export function str(m: WireMap, key: string): string {
  const v = m[key];
  if (v === undefined || v === null) return '';
  if (v instanceof Uint8Array) return utf8Decoder.decode(v);
  if (typeof v === 'string') return v;
  throw new MsgpackError(`msgpack: ${key} is not a string`);
}

/** A Go []byte field; nil stays null (it is sent back as c0, §3.6). */
export function bytes(m: WireMap, key: string): Uint8Array | null {
  const v = m[key];
  if (v === undefined || v === null) return null;
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return utf8.encode(v);
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0 && x < 256)) return Uint8Array.from(v as number[]);
  throw new MsgpackError(`msgpack: ${key} is not bytes`);
}

/** A Go unsigned field of at most `max`; missing is 0, floats are refused like Go does. */
export function uint(m: WireMap, key: string, max = 0xffffffff): number {
  const v = m[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new MsgpackError(`msgpack: ${key} is not an integer in 0..${max}`);
  }
  return v;
}

export function bool(m: WireMap, key: string): boolean {
  const v = m[key];
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  throw new MsgpackError(`msgpack: ${key} is not a bool`);
}
