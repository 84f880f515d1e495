/**
 * An entry's metadata: carried by its body object's own user metadata when it fits
 * (store-meta.ts), otherwise a small JSON object beside the body, written only after the body's
 * upload completed and naming the body's store ETag so a reader can check the two belong
 * together. The store is shared by a fleet, so what is read back is validated before it is trusted.
 */
import type { PolicyObject } from './policy.js';

export interface Entry {
  readonly v: 1;
  /** The URL it answers (purges by prefix match it). */
  readonly url: string;
  readonly status: number;
  /** End-to-end response fields replayed to clients. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Vary fields of the response (normalised) and the variant this entry is. */
  readonly vary: readonly string[];
  readonly policy: PolicyObject;
  /** Body length in bytes. */
  readonly size: number;
  /** The store's ETag of the body object (If-Match on every read). */
  readonly bodyEtag: string;
  /** The metadata rides in the body object's own user metadata (store-meta.ts), not in meta.json beside it. */
  readonly inline?: boolean;
}

/**
 * `entry` is of an older response than `known` (the response times of their policies): a fill whose
 * store answer came late, or a store read answered late, must not replace what is known of a newer
 * response to the same request (RFC 9111 §4: the most recent response is used).
 */
export function olderThan(entry: Entry, known: Entry | undefined): boolean {
  return known !== undefined && entry.policy.t < known.policy.t;
}

/** At the primary key of a response with Vary: which fields select the variant. */
export interface VaryIndex {
  readonly v: 1;
  readonly url: string;
  readonly varyIndex: readonly string[];
}

function isFieldList(value: unknown): value is Array<[string, string]> {
  return Array.isArray(value) && value.every((pair) => Array.isArray(pair) && pair.length === 2
    && typeof pair[0] === 'string' && typeof pair[1] === 'string' && !/[\r\n\0]/.test(pair[0] + pair[1]));
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Parses stored metadata; anything malformed (or from another version) is null: treated as a miss. */
export function parseStored(text: string): Entry | VaryIndex | null {
  try {
    return storedOf(JSON.parse(text) as Record<string, unknown>);
  } catch {
    return null;
  }
}

/** The same, of an already parsed value. */
export function storedOf(value: Record<string, unknown>): Entry | VaryIndex | null {
  if (typeof value !== 'object' || value === null || value.v !== 1 || typeof value.url !== 'string') return null;
  if (isStringList(value.varyIndex)) return value as unknown as VaryIndex;
  const ok = typeof value.status === 'number' && isFieldList(value.headers) && isStringList(value.vary)
    && typeof value.policy === 'object' && value.policy !== null && (value.policy as { v?: unknown }).v === 1
    && Number.isSafeInteger(value.size) && (value.size as number) >= 0 && typeof value.bodyEtag === 'string';
  return ok ? value as unknown as Entry : null;
}

export function isVaryIndex(stored: Entry | VaryIndex): stored is VaryIndex {
  return 'varyIndex' in stored;
}
