/** Marks the header lines a Connection header names, so the engine can drop them by flag. */
import { LOWER } from './chars.js';
import { FLAG_CONNECTION_LISTED, HeaderKind, KIND_MASK } from './header-kinds.js';
import { FIELD_STRIDE, NAME_END } from './message-head.js';
import type { MessageHead } from './message-head.js';

function sameName(buf: Uint8Array, a: number, b: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (LOWER[buf[a + k]!] !== LOWER[buf[b + k]!]) return false;
  return true;
}

/** Whether header line i is named by the Connection token at list index n. */
function isListed(head: MessageHead, i: number, n: number): boolean {
  const o = i * FIELD_STRIDE;
  const start = head.offsets[o]!;
  const len = head.offsets[o + NAME_END]! - start;
  const ls = head.connectionNames[n]!;
  return head.connectionNames[n + 1]! - ls === len && sameName(head.buffer, start, ls, len);
}

/**
 * Framing headers are never marked: "Connection: content-length" must not make the proxy strip
 * the length of a body it relays byte for byte (a request smuggling vector).
 */
export function markConnectionListed(head: MessageHead): void {
  if (head.connectionNameCount === 0) return;
  for (let i = 0; i < head.headerCount; i++) {
    const kind = head.flags[i]! & KIND_MASK;
    if (kind === HeaderKind.CONTENT_LENGTH || kind === HeaderKind.TRANSFER_ENCODING || kind === HeaderKind.HOST) continue;
    for (let n = 0; n < head.connectionNameCount * 2; n += 2) {
      if (isListed(head, i, n)) {
        head.flags[i] = head.flags[i]! | FLAG_CONNECTION_LISTED;
        break;
      }
    }
  }
}
