/**
 * LZW as Go's compress/lzw does it with LSB bit order and 8-bit literals
 * (GIF style), which memberlist uses for its `compress` wrapper (§5.3).
 * Codes start 9 bits wide; 256 clears, 257 ends; at most 12 bits. The writer
 * starts with a clear and emits another when the next code would be 4095;
 * the reader stops adding entries once the table is full. Output of the
 * writer is byte-identical to Go's, which the unit tests check on captures.
 */
const LIT_WIDTH = 8;
const CLEAR = 1 << LIT_WIDTH;
const EOF_CODE = CLEAR + 1;
const MAX_WIDTH = 12;
const MAX_CODE = (1 << MAX_WIDTH) - 1;

export class LzwError extends Error {}

class BitWriter {
  private bits = 0;
  private nBits = 0;
  private out: number[] = [];

  write(code: number, width: number): void {
    this.bits |= code << this.nBits;
    this.nBits += width;
    while (this.nBits >= 8) {
      this.out.push(this.bits & 0xff);
      this.bits >>>= 8;
      this.nBits -= 8;
    }
  }

  finish(): Uint8Array {
    if (this.nBits > 0) this.out.push(this.bits & 0xff);
    return Uint8Array.from(this.out);
  }
}

export function lzwCompress(input: Uint8Array): Uint8Array {
  const bw = new BitWriter();
  let width = LIT_WIDTH + 1;
  let hi = EOF_CODE;
  let overflow = 1 << width;
  let table = new Map<number, number>();
  bw.write(CLEAR, width);
  if (input.length === 0) {
    bw.write(EOF_CODE, width);
    return bw.finish();
  }
  // Go's incHi: the next implied code; widen at powers of two, reset when full.
  const nextCode = (): boolean => {
    hi++;
    if (hi === overflow) { width++; overflow <<= 1; }
    if (hi !== MAX_CODE) return true;
    bw.write(CLEAR, width);
    width = LIT_WIDTH + 1;
    hi = EOF_CODE;
    overflow = CLEAR << 1;
    table = new Map();
    return false;
  };
  let code = input[0]!;
  for (let i = 1; i < input.length; i++) {
    const literal = input[i]!;
    const key = code * 256 + literal;
    const known = table.get(key);
    if (known !== undefined) { code = known; continue; }
    bw.write(code, width);
    code = literal;
    if (nextCode()) table.set(key, hi);
  }
  bw.write(code, width);
  nextCode();
  bw.write(EOF_CODE, width);
  return bw.finish();
}

/** Decompress; refuses output above `maxOutput` bytes (a hostile packet could expand ~3000×). */
export function lzwDecompress(input: Uint8Array, maxOutput = 32 << 20): Uint8Array {
  const prefix = new Uint16Array(1 << MAX_WIDTH);
  const suffix = new Uint8Array(1 << MAX_WIDTH);
  const scratch = new Uint8Array(1 << MAX_WIDTH);
  const chunks: Uint8Array[] = [];
  let total = 0;
  let width = LIT_WIDTH + 1;
  let hi = EOF_CODE;
  let overflow = 1 << width;
  let last = -1;
  let bits = 0;
  let nBits = 0;
  let pos = 0;
  for (;;) {
    while (nBits < width) {
      if (pos >= input.length) throw new LzwError('lzw: unexpected end of data');
      bits |= input[pos++]! << nBits;
      nBits += 8;
    }
    const code = bits & ((1 << width) - 1);
    bits >>>= width;
    nBits -= width;
    if (code === CLEAR) {
      width = LIT_WIDTH + 1; hi = EOF_CODE; overflow = 1 << width; last = -1;
      continue;
    }
    if (code === EOF_CODE) break;
    if (code > hi) throw new LzwError('lzw: invalid code');
    // Expand the code into the end of scratch, back to front.
    let i = scratch.length - 1;
    let c = code;
    if (code >= CLEAR) {
      if (code === hi) {
        if (last < 0) throw new LzwError('lzw: invalid code');
        c = last;
        while (c >= CLEAR) c = prefix[c]!;
        scratch[i--] = c;
        c = last;
      }
      while (c >= CLEAR) { scratch[i--] = suffix[c]!; c = prefix[c]!; }
    }
    scratch[i] = c;
    const piece = scratch.slice(i);
    total += piece.length;
    if (total > maxOutput) throw new LzwError(`lzw: output exceeds ${maxOutput} bytes`);
    chunks.push(piece);
    if (last >= 0) { suffix[hi] = c; prefix[hi] = last; }
    last = code;
    hi++;
    if (hi >= overflow) {
      if (width === MAX_WIDTH) { last = -1; hi--; } else { width++; overflow = 1 << width; }
    }
  }
  return concat(chunks, total);
}

export function concat(chunks: readonly Uint8Array[], total = chunks.reduce((n, c) => n + c.length, 0)): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}
