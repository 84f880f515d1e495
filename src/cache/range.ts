/**
 * Range requests on a stored response (RFC 9110 §14). The store is always asked for an absolute
 * range computed here from the stored size: stores disagree on suffix ranges (s3rver answers
 * `bytes=-3` with the first bytes). Multi-range requests get the whole response (200), which
 * §14.2 allows and which no client can mistake for a part.
 */
import type { ByteRange, LookupRange } from './store/s3-store.js';

export type RangeAnswer =
  /** Serve the whole response (no Range, a multi-range or unreadable one, or If-Range not matching). */
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly range: ByteRange }
  /** 416, with Content-Range: bytes * /size. */
  | { readonly kind: 'unsatisfiable' };

export function rangeFor(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'full' };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  // A syntactically invalid Range (or several ranges) is ignored (§14.2).
  if (match === null || (match[1] === '' && match[2] === '')) return { kind: 'full' };
  const [, first, last] = match as unknown as [string, string, string];
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return { kind: 'unsatisfiable' };
    return size === 0 ? { kind: 'unsatisfiable' } : { kind: 'partial', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(first);
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return { kind: 'full' };
  return { kind: 'partial', range: { start, end } };
}

/**
 * If-Range (§13.1.5): the range applies only if the validator still names the stored response:
 * a strong ETag compared strongly, or an HTTP-date equal to a Last-Modified.
 */
export function ifRangeHolds(ifRange: string | undefined, etag: string | undefined, lastModified: string | undefined): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return etag !== undefined && !etag.startsWith('W/') && value === etag;
  return lastModified !== undefined && Date.parse(value) === Date.parse(lastModified) && !Number.isNaN(Date.parse(value));
}

/** A single Range of absolute bytes (`bytes=a-b` with a ≤ b, or `bytes=a-`), as the store may be asked for it before the size is known; undefined for any other. */
export function absoluteRange(header: string): LookupRange | undefined {
  const match = /^\s*bytes\s*=\s*(\d+)\s*-\s*(\d*)\s*$/i.exec(header);
  if (match === null) return undefined;
  const start = Number(match[1]);
  const end = match[2] === '' ? undefined : Number(match[2]);
  if (!Number.isSafeInteger(start) || (end !== undefined && !(Number.isSafeInteger(end) && end >= start))) return undefined;
  return { start, end };
}
