/** The cache's own view of the configuration, and the checks that need several --cache-* options at once. */
import type { Config } from '../config/types.js';
import type { QuickAbort } from './quick-abort.js';

export interface CacheSettings {
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly bucket: string;
  readonly region: string;
  readonly prefix: string;
  readonly minSize: number;
  readonly healthIntervalMs: number;
  readonly memoryBytes: number;
  readonly readAheadBytes: number;
  readonly staleOnErrorMs: number;
  readonly passTtlMs: number;
  /** How often the store is listed for its index (store-index.ts); 0: no index. */
  readonly indexEveryMs: number;
  readonly indexMax: number;
  /** How long a request waits for the store before it goes on without the cache (0: as long as the store client allows). */
  readonly lookupTimeoutMs: number;
  readonly quickAbort: QuickAbort;
}

type CacheFields = Pick<Config, 'cacheEndpoint' | 'cacheAccessKey' | 'cacheSecretKey' | 'cacheBucket' | 'cacheRegion' | 'cachePrefix'
  | 'cacheMinSize' | 'cacheHealthDuration' | 'cacheMemory' | 'cacheReadAhead' | 'cacheServeStaleOnError' | 'cachePassTtl' | 'cacheLookupTimeout'
  | 'cacheIndex' | 'cacheIndexMax' | 'cacheQuickAbortMin' | 'cacheQuickAbortMax' | 'cacheQuickAbortPct'>;

const NEEDED = [
  ['cacheAccessKey', '--cache-access-key (or SIDEKICK_CACHE_ACCESS_KEY)'],
  ['cacheSecretKey', '--cache-secret-key (or SIDEKICK_CACHE_SECRET_KEY)'],
  ['cacheBucket', '--cache-bucket (or SIDEKICK_CACHE_BUCKET)'],
] as const;

/** What is missing for a cache that was asked for; nothing when the cache is off. */
export function cacheOptionErrors(values: Partial<CacheFields>): string[] {
  if (values.cacheEndpoint === undefined) return [];
  return NEEDED.filter(([field]) => values[field] === undefined)
    .map(([, name]) => `the cache endpoint ${values.cacheEndpoint} needs ${name}`);
}

/** undefined when the cache is off. Call only on a Config that passed cacheOptionErrors. */
export function cacheSettings(config: CacheFields): CacheSettings | undefined {
  const { cacheEndpoint: endpoint, cacheAccessKey: accessKey, cacheSecretKey: secretKey, cacheBucket: bucket } = config;
  if (endpoint === undefined || accessKey === undefined || secretKey === undefined || bucket === undefined) return undefined;
  return {
    endpoint, accessKey, secretKey, bucket,
    region: config.cacheRegion,
    prefix: config.cachePrefix,
    minSize: config.cacheMinSize,
    healthIntervalMs: config.cacheHealthDuration,
    memoryBytes: config.cacheMemory,
    readAheadBytes: config.cacheReadAhead,
    staleOnErrorMs: config.cacheServeStaleOnError,
    passTtlMs: config.cachePassTtl,
    indexEveryMs: config.cacheIndex,
    indexMax: config.cacheIndexMax,
    lookupTimeoutMs: config.cacheLookupTimeout,
    quickAbort: { minLeft: config.cacheQuickAbortMin, maxLeft: config.cacheQuickAbortMax, percent: config.cacheQuickAbortPct },
  };
}
