/**
 * HPACK header block decoding (RFC 7541 §6) with the dynamic table (§4), bounded by the table
 * size we advertised (SETTINGS_HEADER_TABLE_SIZE). Every malformed block throws HpackError, which
 * the connection answers with COMPRESSION_ERROR: the decoder state is then unusable.
 */
import { HuffmanError, huffmanDecode } from './huffman.js';
import { STATIC_TABLE } from './static-table.js';

export class HpackError extends Error {}

/** Per-entry overhead in the table size (RFC 7541 §4.1), also used by SETTINGS_MAX_HEADER_LIST_SIZE. */
export const ENTRY_OVERHEAD = 32;

/** Integers beyond this are refused (no field or table is this large; avoids float overflow). */
const INT_MAX = 2 ** 28;

export class HpackDecoder {
  /** Dynamic table, oldest first: entry `first` is the oldest one still in the table. */
  private readonly names: string[] = [];
  private readonly values: string[] = [];
  private first = 0;
  private size = 0;
  private capacity: number;
  private readonly maxCapacity: number;
  /** Read position inside the block being decoded. */
  private pos = 0;

  /** `maxTableSize`: our SETTINGS_HEADER_TABLE_SIZE, the largest table a size update may ask for. */
  constructor(maxTableSize = 4096) {
    this.capacity = this.maxCapacity = maxTableSize;
  }

  /** Entries in the dynamic table now (tests). */
  get tableLength(): number {
    return this.names.length - this.first;
  }

  /** Bytes the dynamic table holds now, as RFC 7541 §4.1 counts them (tests). */
  get tableSize(): number {
    return this.size;
  }

  /**
   * Decodes block[start, end), appending name, value pairs to `out`. Returns false when the list
   * grew past `maxListSize` (the whole block is still decoded to keep the table in step; `out`
   * then holds only what fit).
   */
  decode(block: Buffer, start: number, end: number, out: string[], maxListSize: number): boolean {
    this.pos = start;
    let listSize = 0;
    let fits = true;
    let fieldsSeen = false;
    while (this.pos < end) {
      const b = block[this.pos]!;
      let name: string;
      let value: string;
      if (b & 0x80) {
        const index = this.integer(block, end, 7);
        if (index === 0) throw new HpackError('index 0');
        name = this.nameAt(index);
        value = this.valueAt(index);
      } else if ((b & 0xe0) === 0x20) {
        if (fieldsSeen) throw new HpackError('table size update after a field');
        const size = this.integer(block, end, 5);
        if (size > this.maxCapacity) throw new HpackError('table size update above our limit');
        this.capacity = size;
        this.evict(0);
        continue;
      } else {
        const indexed = (b & 0x40) !== 0;
        const index = this.integer(block, end, indexed ? 6 : 4);
        name = index === 0 ? this.string(block, end) : this.nameAt(index);
        value = this.string(block, end);
        if (indexed) this.insert(name, value);
      }
      fieldsSeen = true;
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize > maxListSize) fits = false;
      if (fits) out.push(name, value);
    }
    return fits;
  }

  private integer(block: Uint8Array, end: number, prefix: number): number {
    const max = (1 << prefix) - 1;
    let value = block[this.pos++]! & max;
    if (value < max) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= end) throw new HpackError('truncated integer');
      const b = block[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (value > INT_MAX) throw new HpackError('integer too large');
      if ((b & 0x80) === 0) return value;
      shift += 7;
    }
  }

  private string(block: Buffer, end: number): string {
    if (this.pos >= end) throw new HpackError('truncated string');
    const huffman = (block[this.pos]! & 0x80) !== 0;
    const length = this.integer(block, end, 7);
    const from = this.pos;
    if (length > end - from) throw new HpackError('string past the end of the block');
    this.pos += length;
    if (!huffman) return block.toString('latin1', from, from + length);
    try {
      return huffmanDecode(block, from, from + length);
    } catch (err) {
      if (err instanceof HuffmanError) throw new HpackError(err.message);
      throw err;
    }
  }

  private nameAt(index: number): string {
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]![0];
    return this.names[this.dynamicSlot(index)]!;
  }

  private valueAt(index: number): string {
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]![1];
    return this.values[this.dynamicSlot(index)]!;
  }

  private dynamicSlot(index: number): number {
    const slot = this.names.length - (index - STATIC_TABLE.length);
    if (slot < this.first) throw new HpackError(`index ${index} beyond the tables`);
    return slot;
  }

  private insert(name: string, value: string): void {
    const entry = name.length + value.length + ENTRY_OVERHEAD;
    this.evict(entry);
    if (entry > this.capacity) return; // larger than the table: it empties the table (§4.4)
    this.names.push(name);
    this.values.push(value);
    this.size += entry;
  }

  /** Drops the oldest entries until `room` more bytes fit. */
  private evict(room: number): void {
    while (this.size + room > this.capacity && this.first < this.names.length) {
      this.size -= this.names[this.first]!.length + this.values[this.first]!.length + ENTRY_OVERHEAD;
      this.first++;
    }
    if (this.first > 64 && this.first * 2 > this.names.length) {
      this.names.splice(0, this.first);
      this.values.splice(0, this.first);
      this.first = 0;
    }
  }
}
