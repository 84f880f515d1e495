/**
 * News of the shared store between the sidecars of a gossip cluster (--gossip-bind / --join):
 *
 * - **Fills**, for the other sidecars' store indexes (--cache-index). Without them a sidecar learns
 *   what another one stored only from its next listing of the bucket, so for up to --cache-index it
 *   sends misses of that URL to the backend (and stores them again). Each fill is told as the 64
 *   bits of its URL directory's digest that the Bloom filter reads (bloom.ts hashPair), and every
 *   sidecar of the same store adds them to its index: what another stored is a hit here within a
 *   few gossip rounds. A lost or late message costs what it cost before (one backend fetch), a
 *   wrong one a store lookup that finds nothing: the index only ever says "maybe present" more.
 * - **Removals** (invalidations after unsafe requests, evictions, purges), for the other sidecars'
 *   memory tiers, remembered metadata and running fills. The store entry is gone for everyone once
 *   the sidecar that removed it has deleted it, but another sidecar's memory tier would go on
 *   serving its copy until it is stale, and a fill it began before the removal could store the old
 *   response again. Each removal is told as its URL directory and URL; a sidecar that hears it
 *   forgets what it holds of them and refuses to save fills of them that began before (as the
 *   workers of one process do: removals.ts). Best effort, within gossip's delay: the guarantee that
 *   a PUT is never followed by a stale GET holds through the same sidecar; through another, stale
 *   copies go within about a second instead of at the end of their freshness.
 *
 * Messages piggyback on gossip as memberlist user broadcasts, beside the service catalog's JSON:
 *
 *   0xC1 | kind | store id (4 bytes) | payload
 *   kind 1, fills:     n × (h1, h2: 32-bit big-endian)
 *   kind 2, removals:  UTF-8 JSON [[dir, url], …] (dir '' with a URL prefix: a purge)
 *
 * 0xC1 is never the first byte of a JSON text or of UTF-8, so the catalog (ours, or Nitro
 * Sidecar's Go nodes) never mistakes one for a service record. The store id (bucket and key
 * prefix) keeps sidecars of other stores from taking news that is not theirs. Each item is sent
 * a bounded number of times (news-outbox.ts).
 */
import { createHash } from 'node:crypto';
import type { HashPair } from './bloom.js';
import { Outbox } from './news-outbox.js';
import type { RemovalNotice } from './removals.js';

export const CACHE_NEWS_MAGIC = 0xc1;
const FILLS = 1;
const REMOVALS = 2;
const HEADER_BYTES = 6;
const KEY_BYTES = 8;
/** Fills and removals waiting to be told; past these the ones already sent go first. */
export const MAX_FILLS_WAITING = 8192;
export const MAX_REMOVALS_WAITING = 1024;
/** A removal's URL directory and URL, as long as they may be; one told takes at most REMOVAL_MAX bytes (a packet holds ~1,400). */
const DIR_MAX = 1024;
const URL_MAX = 8192;
const REMOVAL_MAX = 1000;

/** A removal as told: the URL directory ('' for a purge by URL prefix) and the URL (or prefix). */
export interface RemovalNews {
  readonly dir: string;
  readonly url: string;
}

/**
 * The 4 bytes naming a store: its bucket and key prefix. Not its endpoint, which sidecars may spell
 * differently (a name, an address); two stores with one bucket name in one cluster only cost each
 * other needless lookups and misses, never a wrong byte.
 */
export function storeIdOf(bucket: string, prefix: string): Buffer {
  return createHash('sha256').update(`${bucket}\n${prefix}`).digest().subarray(0, 4);
}

function header(kind: number, storeId: Buffer, payloadBytes: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payloadBytes);
  out[0] = CACHE_NEWS_MAGIC;
  out[1] = kind;
  storeId.copy(out, 2, 0, 4);
  return out;
}

export function encodeFills(storeId: Buffer, keys: readonly HashPair[]): Buffer {
  const out = header(FILLS, storeId, KEY_BYTES * keys.length);
  keys.forEach((key, i) => {
    out.writeUInt32BE(key.h1, HEADER_BYTES + KEY_BYTES * i);
    out.writeUInt32BE(key.h2, HEADER_BYTES + KEY_BYTES * i + 4);
  });
  return out;
}

export function encodeRemovals(storeId: Buffer, removals: readonly RemovalNews[]): Buffer {
  const payload = Buffer.from(JSON.stringify(removals.map((r) => [r.dir, r.url])));
  const out = header(REMOVALS, storeId, payload.length);
  payload.copy(out, HEADER_BYTES);
  return out;
}

export type DecodedNews = { readonly kind: 'fills'; readonly keys: HashPair[] } | { readonly kind: 'removals'; readonly removals: RemovalNews[] };

/** A news message for `storeId` whose removals lie under `dirPrefix`; null for anything else (another store, kind, or a malformed message). */
export function decodeNews(storeId: Buffer, dirPrefix: string, buf: Uint8Array): DecodedNews | null {
  if (buf.length < HEADER_BYTES || buf[0] !== CACHE_NEWS_MAGIC) return null;
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (!view.subarray(2, HEADER_BYTES).equals(storeId)) return null;
  if (buf[1] === FILLS) {
    if ((buf.length - HEADER_BYTES) % KEY_BYTES !== 0) return null;
    const keys: HashPair[] = [];
    for (let at = HEADER_BYTES; at < view.length; at += KEY_BYTES) keys.push({ h1: view.readUInt32BE(at), h2: view.readUInt32BE(at + 4) });
    return { kind: 'fills', keys };
  }
  if (buf[1] !== REMOVALS) return null;
  let value: unknown;
  try {
    value = JSON.parse(view.subarray(HEADER_BYTES).toString('utf8'));
  } catch {
    return null;
  }
  const ok = Array.isArray(value) && value.every((pair) => Array.isArray(pair) && pair.length === 2
    && typeof pair[0] === 'string' && typeof pair[1] === 'string' && isRemoval(pair[0], pair[1], dirPrefix));
  return ok ? { kind: 'removals', removals: (value as [string, string][]).map(([dir, url]) => ({ dir, url })) } : null;
}

/** A URL directory under the store's prefix, or '' with a URL prefix to purge; neither too long. */
function isRemoval(dir: string, url: string, dirPrefix: string): boolean {
  if (dir.length > DIR_MAX || url.length > URL_MAX) return false;
  return dir === '' ? url !== '' : dir.startsWith(dirPrefix) && dir.endsWith('/') && !dir.includes('..');
}

export interface CacheNewsOptions {
  readonly storeId: Buffer;
  /** `<prefix>hh/`: every URL directory of the store starts with it. */
  readonly dirPrefix: string;
  /** How many times each item is sent (memberlist's retransmit limit for the cluster's size). */
  readonly transmits: () => number;
  /** Another sidecar stored entries under these URL directories. */
  readonly learnFills: (keys: readonly HashPair[]) => void;
  /** Another sidecar removed this URL (or URL prefix). */
  readonly learnRemoval: (removal: RemovalNews) => void;
}

/** This sidecar's news on its way out, and the others' on their way in: a gossip channel (gossip/delegate-mux.ts). */
export class CacheNews {
  readonly magic = CACHE_NEWS_MAGIC;
  /** Items told by this sidecar and learned from others (counters for /metrics). */
  fillsTold = 0;
  fillsLearned = 0;
  removalsTold = 0;
  removalsLearned = 0;
  private readonly fills = new Outbox<HashPair>(MAX_FILLS_WAITING);
  private readonly removals = new Outbox<RemovalNews>(MAX_REMOVALS_WAITING);
  private readonly options: CacheNewsOptions;

  constructor(options: CacheNewsOptions) {
    this.options = options;
  }

  /** This sidecar stored an entry under the URL directory whose key is `key`. */
  tellFill(key: HashPair): void {
    this.fillsTold++;
    this.fills.push(key);
  }

  /**
   * This sidecar's removal of a URL (or, with dir '', a URL prefix), as its workers tell each other
   * (removals.ts): told once, when it begins; its end, and its retries (no URL), stay here.
   */
  tellRemoval(notice: RemovalNotice): void {
    const { phase, dir, url } = notice;
    if (phase !== 'begin' || url === '' || !isRemoval(dir, url, this.options.dirPrefix)) return;
    if (Buffer.byteLength(JSON.stringify([dir, url])) > REMOVAL_MAX) return; // a URL this long stays untold
    this.removalsTold++;
    this.removals.push({ dir, url });
  }

  /** Waiting to be sent (at least once more). */
  get waiting(): number {
    return this.fills.size + this.removals.size;
  }

  /** Up to one message of removals, then one of fills, fitting in `limit` bytes with `overhead` more each. */
  broadcasts(overhead: number, limit: number): Uint8Array[] {
    const out: Buffer[] = [];
    const transmits = this.options.transmits();
    let room = limit - overhead - HEADER_BYTES;
    // The array's brackets, then per removal its own JSON and a comma.
    const removals = this.removals.take(room - 2, (r) => Buffer.byteLength(JSON.stringify([r.dir, r.url])) + 1, transmits);
    if (removals.length > 0) {
      const msg = encodeRemovals(this.options.storeId, removals);
      out.push(msg);
      room -= msg.length + overhead;
    }
    const keys = this.fills.take(room, () => KEY_BYTES, transmits);
    if (keys.length > 0) out.push(encodeFills(this.options.storeId, keys));
    return out;
  }

  /** A message with our magic byte arrived: learn it if it is news of our store. */
  heard(buf: Uint8Array): void {
    const news = decodeNews(this.options.storeId, this.options.dirPrefix, buf);
    if (news === null) return;
    if (news.kind === 'fills') {
      if (news.keys.length === 0) return;
      this.fillsLearned += news.keys.length;
      this.options.learnFills(news.keys);
      return;
    }
    for (const removal of news.removals) {
      this.removalsLearned++;
      this.options.learnRemoval(removal);
    }
  }

  /** The counters, in the Prometheus text format. */
  metricsText(): string {
    const counter = (name: string, help: string, value: number): string =>
      `# HELP outrigger_cache_${name} ${help}\n# TYPE outrigger_cache_${name} counter\noutrigger_cache_${name} ${value}\n`;
    return counter('news_fills_told_total', 'fills told to the gossip cluster, for the other sidecars\' store indexes', this.fillsTold)
      + counter('news_fills_learned_total', 'fills of other sidecars learned by gossip and added to the store index', this.fillsLearned)
      + counter('news_removals_told_total', 'removals told to the gossip cluster, for the other sidecars\' memory tiers and fills', this.removalsTold)
      + counter('news_removals_learned_total', 'removals by other sidecars learned by gossip', this.removalsLearned)
      + counter('news_dropped_total', 'news dropped before it was sent its times (too many waiting)', this.fills.dropped + this.removals.dropped);
  }
}

/**
 * What another sidecar's removal is to this process, as the notices of a removal by another worker
 * (removals.ts): the deletion is the other sidecar's, so here it begins and ends at once: what this
 * process holds of the URL is forgotten and its fills that began before are not saved. A purge by
 * URL prefix (dir '') only begins, as the workers' purges do.
 */
export function peerNotices({ dir, url }: RemovalNews): RemovalNotice[] {
  const begin: RemovalNotice = { phase: 'begin', dir, url, ok: false };
  return dir === '' ? [begin] : [begin, { phase: 'end', dir, url, ok: true }];
}

/** Fill keys as the --workers messages carry them: h1, h2, h1, h2, … */
export function flatOf(keys: readonly HashPair[]): number[] {
  return keys.flatMap((key) => [key.h1, key.h2]);
}

export function pairsOf(flat: readonly number[]): HashPair[] {
  const keys: HashPair[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) keys.push({ h1: flat[i]!, h2: flat[i + 1]! });
  return keys;
}

/** A worker's fills for the primary, one message per turn of the event loop however many fills it had. */
export function batchedFills(send: (flat: number[]) => void): (key: HashPair) => void {
  let batch: HashPair[] | null = null;
  return (key) => {
    if (batch === null) {
      batch = [];
      setImmediate(() => {
        const keys = batch!;
        batch = null;
        send(flatOf(keys));
      });
    }
    batch.push(key);
  };
}
