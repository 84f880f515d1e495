/** HPACK Huffman decoding (RFC 7541 §5.2) over a binary tree built once from the code table. */
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from './huffman-table.js';

/** Why a Huffman string was refused: the caller turns it into COMPRESSION_ERROR. */
export class HuffmanError extends Error {}

const EOS = 256;

/**
 * The code tree: node n has children TREE[2n] (bit 0) and TREE[2n + 1] (bit 1). A child > 0 is
 * another node, < 0 is a leaf holding -(symbol + 1), 0 is no code (cannot happen for a complete code).
 */
const TREE: Int32Array = (() => {
  const tree = new Int32Array(2 * 512);
  let next = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const code = HUFFMAN_CODES[sym]!;
    const len = HUFFMAN_LENGTHS[sym]!;
    let node = 0;
    for (let b = len - 1; b > 0; b--) {
      const slot = 2 * node + ((code >>> b) & 1);
      if (tree[slot] === 0) tree[slot] = next++;
      node = tree[slot]!;
    }
    tree[2 * node + (code & 1)] = -(sym + 1);
  }
  return tree;
})();

/**
 * Decodes buf[start, end) to a latin1 string. Refuses EOS inside the string and padding that is
 * longer than 7 bits or not all ones (RFC 7541 §5.2).
 */
export function huffmanDecode(buf: Uint8Array, start: number, end: number): string {
  const out: number[] = [];
  let node = 0;
  let depth = 0; // bits read since the last complete symbol
  let allOnes = true;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >>> b) & 1;
      const child = TREE[2 * node + bit]!;
      depth++;
      allOnes = allOnes && bit === 1;
      if (child < 0) {
        const sym = -child - 1;
        if (sym === EOS) throw new HuffmanError('EOS in a Huffman string');
        out.push(sym);
        node = depth = 0;
        allOnes = true;
      } else {
        node = child;
      }
    }
  }
  if (depth > 7 || !allOnes) throw new HuffmanError('bad Huffman padding');
  return String.fromCharCode.apply(null, out);
}

/** Encodes a latin1 string (tests and the RFC vectors; responses go out as plain literals). */
export function huffmanEncode(s: string): Buffer {
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    let len = HUFFMAN_LENGTHS[sym]!;
    const code = HUFFMAN_CODES[sym]!;
    while (len > 0) {
      const take = Math.min(len, 8 - bits);
      acc = (acc << take) | ((code >>> (len - take)) & ((1 << take) - 1));
      bits += take;
      len -= take;
      if (bits === 8) {
        bytes.push(acc);
        acc = bits = 0;
      }
    }
  }
  if (bits > 0) bytes.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Buffer.from(bytes);
}
