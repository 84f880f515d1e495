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
 *   response again. Each removal is told once its deletion succeeded, as its URL directory and URL
 *   (a purge once it ended, as its URL prefix);
 *   a sidecar that hears it forgets what it holds of them and does not save fills of them that
 *   began before (a `peer` notice: removals.ts), and deletes again one it saved just before the
 *   news came (late-fills.ts). Best effort, within gossip's delay: the guarantee that
 *   a PUT is never followed by a stale GET holds through the same sidecar; through another, stale
 *   copies go within about a second instead of at the end of their freshness.
 *
 * Messages piggyback on gossip as memberlist user broadcasts, beside the service catalog's JSON:
 *
 *   0xC1 | kind | store id (4 bytes) | payload
 *   kind 1, fills:     n × (h1, h2: 32-bit big-endian)
 *   kind 2, removals:  UTF-8 JSON [[dir, url, id], …] (dir '' with a URL prefix: a purge)
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

/**
 * A removal as told: the URL directory ('' for a purge by URL prefix), the URL (or prefix; '' when
 * a retry succeeded, which knows only the directory) and an id its teller drew, so a later removal
 * of the same URL is news again while the same one heard twice is not.
 */
export interface RemovalNews {
  readonly dir: string;
  readonly url: string;
  readonly id: number;
}
/** What this process remembers having heard or told, so each item is learned and passed on once. */
const SEEN_MAX = 65_536;

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

/** A removal's JSON in a message: `[dir, url, id]`. */
const removalJson = (r: RemovalNews): string => JSON.stringify([r.dir, r.url, r.id]);

export function encodeRemovals(storeId: Buffer, removals: readonly RemovalNews[]): Buffer {
  return removalsMessage(storeId, removals.map(removalJson));
}

function removalsMessage(storeId: Buffer, jsons: readonly string[]): Buffer {
  const payload = Buffer.from(`[${jsons.join(',')}]`);
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
  const ok = Array.isArray(value) && value.every((r) => Array.isArray(r) && r.length === 3 && typeof r[0] === 'string'
    && typeof r[1] === 'string' && Number.isInteger(r[2]) && r[2] >= 0 && r[2] <= 0xffffffff && isRemoval(r[0], r[1], dirPrefix));
  return ok ? { kind: 'removals', removals: (value as [string, string, number][]).map(([dir, url, id]) => ({ dir, url, id })) } : null;
}

/** A URL directory under the store's prefix, or '' with a URL prefix to purge; neither too long. */
function isRemoval(dir: string, url: string, dirPrefix: string): boolean {
  if (dir.length > DIR_MAX || url.length > URL_MAX) return false;
  return dir === '' ? url !== '' : dir.startsWith(dirPrefix) && dir.endsWith('/') && !dir.includes('..');
}

/** Item keys in insertion order, the oldest forgotten past SEEN_MAX. */
class Seen {
  private readonly keys = new Set<string>();

  /** True the first time `key` is seen (while remembered). */
  first(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > SEEN_MAX) this.keys.delete(this.keys.values().next().value as string);
    return true;
  }
}

const fillKey = (key: HashPair): string => `${key.h1}:${key.h2}`;
const removalKey = (r: RemovalNews): string => `${r.id}\n${r.dir}\n${r.url}`;

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
  /** Draws removal ids (tests give a fixed one). */
  readonly random?: () => number;
}

/** This sidecar's news on its way out, and the others' on their way in: a gossip channel (gossip/delegate-mux.ts). */
export class CacheNews {
  readonly magic = CACHE_NEWS_MAGIC;
  /** Items told by this sidecar and learned from others (counters for /metrics). */
  fillsTold = 0;
  fillsLearned = 0;
  removalsTold = 0;
  removalsLearned = 0;
  /** Fill keys; removals as their JSON, encoded once. */
  private readonly fills = new Outbox<HashPair>(MAX_FILLS_WAITING);
  private readonly removals = new Outbox<string>(MAX_REMOVALS_WAITING);
  private readonly seen = new Seen();
  private readonly options: CacheNewsOptions;

  constructor(options: CacheNewsOptions) {
    this.options = options;
  }

  /** This sidecar stored an entry under the URL directory whose key is `key`. */
  tellFill(key: HashPair): void {
    this.fillsTold++;
    this.seen.first(fillKey(key));
    this.pass(key);
  }

  /**
   * This sidecar's removal of a URL, as its workers tell each other (removals.ts): told once its
   * deletion succeeded (the first try or a retry, which knows only the directory), so no sidecar
   * that hears it can still read the old entry from the store; a failed one stays here. A purge by
   * URL prefix (dir '') is told as its prefix when it begins (the others stop serving what they
   * hold under it at once) and again when it ends (what they read from the store while it ran is
   * dropped then), not as each directory it deleted: a large purge would fill the outbox and push
   * other removals out. Its failed directories are told when a retry succeeds.
   */
  tellRemoval(notice: RemovalNotice): void {
    const { phase, dir, url } = notice;
    const done = dir === '' || (phase === 'end' && notice.ok && notice.local !== true);
    if (!done || !isRemoval(dir, url, this.options.dirPrefix)) return;
    const removal = { dir, url, id: Math.floor((this.options.random ?? Math.random)() * 0x100000000) };
    if (Buffer.byteLength(removalJson(removal)) > REMOVAL_MAX) return; // a URL this long stays untold
    this.removalsTold++;
    this.seen.first(removalKey(removal));
    this.pass(removal);
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
    // The array's brackets, then per removal its JSON and a comma (each item's cost).
    const removals = this.removals.take(room - 2, transmits);
    if (removals.length > 0) {
      const msg = removalsMessage(this.options.storeId, removals);
      out.push(msg);
      room -= msg.length + overhead;
    }
    const keys = this.fills.take(room, transmits);
    if (keys.length > 0) out.push(encodeFills(this.options.storeId, keys));
    return out;
  }

  /**
   * A message with our magic byte arrived: learn what is new in it if it is news of our store, and
   * pass that on. memberlist sends a user broadcast only from the node that queued it, to as many
   * members as its retransmit limit, so news reaches the whole cluster only if each member that
   * learns it queues it again (as the catalog does with its records).
   */
  heard(buf: Uint8Array): void {
    const news = decodeNews(this.options.storeId, this.options.dirPrefix, buf);
    if (news === null) return;
    if (news.kind === 'fills') {
      const fresh = news.keys.filter((key) => this.seen.first(fillKey(key)));
      if (fresh.length === 0) return;
      this.fillsLearned += fresh.length;
      this.options.learnFills(fresh);
      for (const key of fresh) this.pass(key);
      return;
    }
    for (const removal of news.removals) {
      if (!this.seen.first(removalKey(removal))) continue;
      this.removalsLearned++;
      this.options.learnRemoval(removal);
      this.pass(removal);
    }
  }

  /** Queues news to be sent (a newer removal of a URL replaces an older one waiting). */
  private pass(news: HashPair | RemovalNews): void {
    if ('h1' in news) return this.fills.push(fillKey(news), news, KEY_BYTES);
    const json = removalJson(news);
    this.removals.push(news.dir === '' ? `purge\n${news.url}` : news.dir, json, Buffer.byteLength(json) + 1);
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
 * What another sidecar's removal is to this process (and its workers): a `peer` notice (removals.ts):
 * what this process holds of the URL is forgotten and its work on it that began before is stale;
 * its own removals of the URL, running or failed, are left as they are. A purge by URL prefix
 * (dir '') begins here as the workers' purges do.
 */
export function peerNotice({ dir, url }: RemovalNews): RemovalNotice {
  return { phase: 'peer', dir, url, ok: true };
}
