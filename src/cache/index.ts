/**
 * The cache's composition, loaded by dynamic import only when --cache-endpoint is set, so the
 * store client and http-cache-semantics cost nothing to a sidecar without a cache.
 */
import type tls from 'node:tls';
import type { RequestView } from '../proxy/pipeline.js';
import { Entries } from './entries.js';
import { CacheFilter } from './filter.js';
import { MemoryTier } from './memory-tier.js';
import type { CacheSettings } from './settings.js';
import { CacheStats } from './stats.js';
import { StoreHealth } from './store-health.js';
import { StoreIndex } from './store-index.js';
import { S3Store } from './store/s3-store.js';
import { ReadAheadBudget } from './store/parted-body.js';
import type { RemovalNotice } from './removals.js';
import type { HashPair } from './bloom.js';
import type { Refresh } from './refreshes.js';
import { peerNotice, type RemovalNews } from './cache-news.js';

const MiB = 1024 * 1024;
/**
 * A fill's memory: for a streamed PutObject (known length), what its connection has not taken;
 * for a multipart upload, the part being collected, PART_QUEUE parts being sent, and one full part
 * waiting for them. A store slower than that loses the fill (the client is never slowed), so
 * FILL_MEMORY bounds every fill, and 8 fills at once hold at most 8 × FILL_MEMORY.
 */
const PART_SIZE = 8 * MiB;
const PART_QUEUE = 2;
const FILL_MEMORY = PART_SIZE * (PART_QUEUE + 2);
/**
 * Large hits are read as consecutive store ranges of READ_PART bytes, READ_LANES of them open at
 * once (the ones ahead read into memory, a part each), for bodies over two parts. The read-ahead
 * of all hits at once is bounded by --cache-read-ahead; a hit that finds none left is one GET.
 * 8 MiB × 2 by measurement on Swift (bench/cache.ts row 1, a loaded 2-core machine): 4 MiB parts
 * cost ~15% more of Outrigger's CPU per hit and were slower; 16 MiB parts or a third lane gained nothing.
 */
const READ_PART = 8 * MiB;
const READ_LANES = 2;

export interface CacheDeps {
  readonly settings: CacheSettings;
  /** 'http' or 'https' (the listener's scheme, part of every key). */
  readonly scheme: string;
  readonly anyReady: () => boolean;
  /** One line per store health flip. */
  readonly log: (message: string) => void;
  readonly refresh: Refresh | null;
  /** For https endpoints: the backend TLS options. */
  readonly secureContext: tls.SecureContext | undefined;
  readonly insecure: boolean;
  readonly clock?: () => number;
  /** With --workers N: tells the other workers of each removal (they call removedElsewhere). */
  readonly announce?: (notice: RemovalNotice) => void;
  /** With --cache-index: told of each URL directory this process stores (fill-news.ts tells the other sidecars). */
  readonly stored?: (key: HashPair) => void;
}

export interface CacheRuntime {
  readonly filter: CacheFilter;
  readonly stats: CacheStats;
  readonly health: StoreHealth;
  /** Another worker's removal (see announce). */
  removedElsewhere(notice: RemovalNotice): void;
  /** Another sidecar (or worker) stored entries under these URL directories: the store index takes them as present. */
  learn(keys: readonly HashPair[]): void;
  /** Another sidecar removed a URL (or, dir '', a URL prefix), as gossip tells (cache-news.ts). */
  removedByPeer(removal: RemovalNews): void;
  stop(): void;
}

export function createCache(deps: CacheDeps): CacheRuntime {
  const s = deps.settings;
  const store = new S3Store({
    endpoint: s.endpoint, accessKey: s.accessKey, secretKey: s.secretKey, bucket: s.bucket, region: s.region,
    secureContext: deps.secureContext, insecure: deps.insecure, partSize: PART_SIZE, queueSize: PART_QUEUE,
  });
  const stats = new CacheStats();
  const health = new StoreHealth({
    intervalMs: s.healthIntervalMs,
    deadlineMs: s.lookupTimeoutMs,
    probe: () => store.probe(),
    report: (up, reason) => {
      stats.storeUp = up ? 1 : 0;
      deps.log(up
        ? `cache store ${s.endpoint}/${s.bucket} is up`
        : `cache store ${s.endpoint}/${s.bucket} is down, requests bypass the cache: ${reason}`);
    },
  });
  const memory = s.memoryBytes > 0 ? new MemoryTier(s.memoryBytes) : null;
  const readAhead = s.readAheadBytes > 0 ? { partSize: READ_PART, lanes: READ_LANES, budget: new ReadAheadBudget(s.readAheadBytes) } : null;
  const index = storeIndex(s, store, deps, stats);
  const entries = new Entries(store, memory, health, stats, readAhead, index);
  entries.onRemoval = deps.announce ?? null;
  const filter = new CacheFilter(entries, health, stats, {
    prefix: s.prefix, scheme: deps.scheme, minSize: s.minSize, staleOnErrorMs: s.staleOnErrorMs, passTtlMs: s.passTtlMs, lookupTimeoutMs: s.lookupTimeoutMs, quickAbort: s.quickAbort,
    maxBuffered: FILL_MEMORY, flightWindow: 8 * MiB, clock: deps.clock ?? Date.now, anyReady: deps.anyReady, refresh: deps.refresh,
  });
  void health.start();
  index?.start();
  return {
    filter, stats, health,
    removedElsewhere: (notice) => filter.removedElsewhere(notice),
    learn: (keys) => index?.learn(keys),
    removedByPeer: (removal) => filter.removedElsewhere(peerNotice(removal)),
    stop: () => {
      health.stop();
      index?.stop();
      entries.stop();
      store.destroy();
    },
  };
}

/** The index of the store's URL directories (--cache-index), or null when it is off. A failed listing is retried at the probe's pace. */
function storeIndex(s: CacheSettings, store: S3Store, deps: CacheDeps, stats: CacheStats): StoreIndex | null {
  if (s.indexEveryMs <= 0) return null;
  const prefix = `${s.prefix}hh/`;
  const index = new StoreIndex({
    everyMs: s.indexEveryMs, max: s.indexMax, retryMs: s.healthIntervalMs, prefix,
    list: () => store.list(prefix), clock: deps.clock ?? Date.now, log: deps.log, stored: deps.stored,
  });
  stats.index = index;
  return index;
}
