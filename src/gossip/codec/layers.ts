/**
 * The framing layers around messages (memberlist-wire.md §1, §5): compound,
 * CRC, compression and the ≥ 0.3.0 label header.
 */
import { crc32 } from 'node:zlib';
import { lzwCompress, lzwDecompress, concat } from './lzw.js';
import { MsgType } from './messages.js';
import { bytes, decodeMap, encodeTyped, uint, valueEnd } from './msgpack.js';

export class FrameError extends Error {}

/** 0.2.2 receivers mis-split compounds of ≥ 128 parts (§5.1). */
export const MAX_COMPOUND_PARTS = 127;

export function makeCompound(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length > MAX_COMPOUND_PARTS) throw new FrameError(`compound of ${parts.length} parts`);
  const head = new Uint8Array(2 + 2 * parts.length);
  head[0] = MsgType.compound;
  head[1] = parts.length;
  parts.forEach((p, i) => {
    if (p.length > 0xffff) throw new FrameError('compound part over 65535 bytes');
    head[2 + 2 * i] = p.length >> 8;
    head[3 + 2 * i] = p.length & 0xff;
  });
  return concat([head, ...parts]);
}

/** Parts of a compound body (after the 07 byte); truncated trailing parts are dropped as Go does. */
export function splitCompound(body: Uint8Array): Uint8Array[] {
  const n = body[0];
  if (n === undefined || body.length < 1 + 2 * n) throw new FrameError('truncated compound header');
  const parts: Uint8Array[] = [];
  let at = 1 + 2 * n;
  for (let i = 0; i < n; i++) {
    const len = (body[1 + 2 * i]! << 8) | body[2 + 2 * i]!;
    if (at + len > body.length) break;
    parts.push(body.subarray(at, at + len));
    at += len;
  }
  return parts;
}

export function addCrc(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(msg.length + 5);
  out[0] = MsgType.hasCrc;
  new DataView(out.buffer).setUint32(1, crc32(msg));
  out.set(msg, 5);
  return out;
}

/** Strip a 0c CRC header after checking it; other messages pass through. */
export function checkCrc(buf: Uint8Array): Uint8Array {
  if (buf[0] !== MsgType.hasCrc) return buf;
  if (buf.length < 5) throw new FrameError('truncated CRC header');
  const want = new DataView(buf.buffer, buf.byteOffset + 1, 4).getUint32(0);
  const rest = buf.subarray(5);
  if (crc32(rest) !== want) throw new FrameError('CRC mismatch');
  return rest;
}

export function compress(msg: Uint8Array): Uint8Array {
  return encodeTyped(MsgType.compress, { Algo: 0, Buf: lzwCompress(msg) });
}

/** The body of a 09 message (after the type byte) back to the message it wraps. */
export function decompress(body: Uint8Array, maxOutput?: number): Uint8Array {
  const m = decodeMap(body);
  if (uint(m, 'Algo') !== 0) throw new FrameError(`unknown compression algorithm ${String(m.Algo)}`);
  return lzwDecompress(bytes(m, 'Buf') ?? new Uint8Array(0), maxOutput);
}

/** How long the 09 wrapper at the start of `buf` is, or -1 when more bytes are needed. */
export const compressedEnd = (buf: Uint8Array): number => (buf.length < 1 ? -1 : valueEnd(buf, 1));

const utf8 = new TextEncoder();

export function labelHeader(label: string): Uint8Array {
  if (label === '') return new Uint8Array(0);
  const l = utf8.encode(label);
  if (l.length > 255) throw new FrameError('label longer than 255 bytes');
  return concat([Uint8Array.of(MsgType.hasLabel, l.length), l]);
}

/**
 * Read an optional label header. Returns the label and where the rest starts,
 * or null when `buf` is too short to tell.
 */
export function readLabel(buf: Uint8Array): { label: string; rest: number } | null {
  if (buf.length === 0) return null;
  if (buf[0] !== MsgType.hasLabel) return { label: '', rest: 0 };
  if (buf.length < 2) return null;
  const len = buf[1]!;
  if (len === 0) throw new FrameError('empty label header');
  if (buf.length < 2 + len) return null;
  return { label: new TextDecoder().decode(buf.subarray(2, 2 + len)), rest: 2 + len };
}
