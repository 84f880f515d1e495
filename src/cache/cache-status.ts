/**
 * The Cache-Status response field (RFC 9211): one list member per cache, appended after the
 * members of caches nearer the origin. Ours is named "Outrigger".
 */
export const CACHE_NAME = 'Outrigger';

/** RFC 9211 §2.2 fwd values used here. */
export type Forward = 'miss' | 'uri-miss' | 'vary-miss' | 'stale' | 'request' | 'bypass';

export interface CacheStatus {
  /** Served from the cache without going forward. */
  readonly hit?: boolean;
  readonly fwd?: Forward;
  /** Status of the forwarded response (e.g. 304 on a revalidation). */
  readonly fwdStatus?: number;
  /** Seconds of freshness left (negative when stale). */
  readonly ttl?: number;
  /** The response was (or is being) stored. */
  readonly stored?: boolean;
  /** A short token explaining the outcome ("store-down", "not-storable"...). */
  readonly detail?: string;
}

export function formatCacheStatus(status: CacheStatus): string {
  const params: string[] = [CACHE_NAME];
  if (status.hit === true) params.push('hit');
  if (status.fwd !== undefined) params.push(`fwd=${status.fwd}`);
  if (status.fwdStatus !== undefined) params.push(`fwd-status=${status.fwdStatus}`);
  if (status.stored === true) params.push('stored');
  if (status.ttl !== undefined) params.push(`ttl=${Math.trunc(status.ttl)}`);
  if (status.detail !== undefined) params.push(`detail=${/^[a-z][a-z0-9-]*$/.test(status.detail) ? status.detail : JSON.stringify(status.detail)}`);
  return params.join('; ');
}

/** Our member after whatever the backend (or a cache behind it) sent. */
export function appendCacheStatus(existing: string | undefined, status: CacheStatus): string {
  const ours = formatCacheStatus(status);
  return existing === undefined || existing.trim() === '' ? ours : `${existing}, ${ours}`;
}
