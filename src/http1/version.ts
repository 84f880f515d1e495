/** The HTTP-version token shared by request and status lines. */
import { E, NEED_MORE } from './errors.js';

/** "HTTP/" with -1 standing for a digit. */
const TEMPLATE = [0x48, 0x54, 0x54, 0x50, 0x2f, -1, 0x2e, -1];

/**
 * Matches "HTTP/" DIGIT "." DIGIT at i (case-sensitive, RFC 9112 §2.3). Returns major * 10 +
 * minor, NEED_MORE, or -E.BAD_VERSION as soon as an available byte does not fit.
 */
export function scanVersion(buf: Uint8Array, i: number, end: number): number {
  for (let k = 0; k < 8; k++) {
    if (i + k >= end) return NEED_MORE;
    const c = buf[i + k]!;
    const want = TEMPLATE[k]!;
    if (want < 0 ? c < 0x30 || c > 0x39 : c !== want) return -E.BAD_VERSION;
  }
  return (buf[i + 5]! - 0x30) * 10 + (buf[i + 7]! - 0x30);
}

/** Length of the version token. */
export const VERSION_LENGTH = 8;
