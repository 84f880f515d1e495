/**
 * HPACK encoding of response heads (RFC 7541 §6): :status by static index when it has one, every
 * other field as a literal without indexing (name by static index when it has one), no Huffman.
 * The dynamic table is never used, so the encoder has no state and the peer's table size does
 * not matter.
 */
import { STATIC_NAME_INDEX } from './static-table.js';

/** Statuses with a static entry of their own (index 8-14). */
const STATUS_INDEX: Readonly<Record<number, number>> = { 200: 8, 204: 9, 206: 10, 304: 11, 400: 12, 404: 13, 500: 14 };
const STATUS_NAME_INDEX = 8;

/** The most bytes encodeField() writes for a name and value of these lengths. */
export function fieldBound(nameLength: number, valueLength: number): number {
  return nameLength + valueLength + 12;
}

/** Writes :status at buf[pos]; returns the position after it (needs at most 5 bytes). */
export function encodeStatus(buf: Buffer, pos: number, status: number): number {
  const index = STATUS_INDEX[status];
  if (index !== undefined) {
    buf[pos] = 0x80 | index;
    return pos + 1;
  }
  buf[pos] = STATUS_NAME_INDEX; // literal without indexing, indexed name (4-bit prefix: 8 fits)
  buf[pos + 1] = 3;
  buf.write(String(status), pos + 2, 3, 'latin1');
  return pos + 5;
}

/** Writes one field (lower-case name) as a literal without indexing; returns the position after it. */
export function encodeField(buf: Buffer, pos: number, name: string, value: string): number {
  pos = encodeName(buf, pos, name);
  pos = integer(buf, pos, value.length, 7, 0x00);
  return pos + buf.write(value, pos, 'latin1');
}

/** Writes one field whose value is src[from, to) (bytes copied as they are, no string made). */
export function encodeFieldBytes(buf: Buffer, pos: number, name: string, src: Buffer, from: number, to: number): number {
  pos = encodeName(buf, pos, name);
  pos = integer(buf, pos, to - from, 7, 0x00);
  return pos + src.copy(buf, pos, from, to);
}

/** Fields as an object (arrays for repeated ones): the most bytes encodeFields() writes. */
export function fieldsBound(fields: Readonly<Record<string, string | readonly string[]>>): number {
  let bound = 0;
  for (const name in fields) {
    const v = fields[name]!;
    if (typeof v === 'string') bound += fieldBound(name.length, v.length);
    else for (const one of v) bound += fieldBound(name.length, one.length);
  }
  return bound;
}

/** Writes every field of `fields`; returns the position after them. */
export function encodeFields(buf: Buffer, pos: number, fields: Readonly<Record<string, string | readonly string[]>>): number {
  for (const name in fields) {
    const v = fields[name]!;
    if (typeof v === 'string') pos = encodeField(buf, pos, name, v);
    else for (const one of v) pos = encodeField(buf, pos, name, one);
  }
  return pos;
}

/** The name part of a literal without indexing: by static index when it has one. */
function encodeName(buf: Buffer, pos: number, name: string): number {
  const index = STATIC_NAME_INDEX.get(name);
  if (index !== undefined) return integer(buf, pos, index, 4, 0x00);
  buf[pos++] = 0x00;
  pos = integer(buf, pos, name.length, 7, 0x00);
  return pos + buf.write(name, pos, 'latin1');
}

/** An HPACK integer with an N-bit prefix, the prefix byte's other bits set from `high`. */
function integer(buf: Buffer, pos: number, value: number, prefix: number, high: number): number {
  const max = (1 << prefix) - 1;
  if (value < max) {
    buf[pos] = high | value;
    return pos + 1;
  }
  buf[pos++] = high | max;
  value -= max;
  while (value >= 128) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[pos] = value;
  return pos + 1;
}
