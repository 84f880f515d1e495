/**
 * News of fills, for the other sidecars' store indexes (--cache-index), carried by gossip.
 *
 * Without it a sidecar learns what another one stored only from its next listing of the bucket,
 * so for up to --cache-index it sends misses of that URL to the backend (and stores them again).
 * With gossip on (--gossip-bind / --join), each fill is told to the cluster as the 64 bits of its
 * URL directory's digest that the Bloom filter reads (bloom.ts hashPair), and every sidecar of the
 * same store adds them to its index: what another stored becomes a hit here within a few gossip
 * rounds, not a listing period. Nothing else changes: a lost or late message costs what it cost
 * before (one backend fetch), and a wrong one a store lookup that finds nothing: the index only
 * ever says "maybe present" more often.
 *
 * Messages piggyback on gossip as memberlist user broadcasts, beside the service catalog's JSON:
 *
 *   0xC1 | version 1 | store id (4 bytes) | n × (h1, h2: 32-bit big-endian)
 *
 * 0xC1 is never the first byte of a JSON text or of UTF-8, so the catalog (ours, or Nitro
 * Sidecar's Go nodes, which log and drop it) never mistakes one for a service record. The store id
 * (bucket and key prefix) keeps sidecars of other stores from learning keys that are not
 * theirs. Each fill is sent a bounded number of times (memberlist's retransmit limit), unsent news
 * first; past MAX_QUEUED waiting, news already sent once is dropped first (the next listing covers it).
 */
import { createHash } from 'node:crypto';
import type { HashPair } from './bloom.js';

export const FILL_NEWS_MAGIC = 0xc1;
const VERSION = 1;
const HEADER_BYTES = 6;
const KEY_BYTES = 8;
/** Fills waiting to be told; past this the oldest are dropped. */
export const MAX_QUEUED = 8192;

/**
 * The 4 bytes naming a store: its bucket and key prefix. Not its endpoint, which sidecars may spell
 * differently (a name, an address); two stores with one bucket name in one cluster only make each
 * other's misses look the store up, as without the index.
 */
export function storeIdOf(bucket: string, prefix: string): Buffer {
  return createHash('sha256').update(`${bucket}\n${prefix}`).digest().subarray(0, 4);
}

export function encodeFillNews(storeId: Buffer, keys: readonly HashPair[]): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + KEY_BYTES * keys.length);
  out[0] = FILL_NEWS_MAGIC;
  out[1] = VERSION;
  storeId.copy(out, 2, 0, 4);
  keys.forEach((key, i) => {
    out.writeUInt32BE(key.h1, HEADER_BYTES + KEY_BYTES * i);
    out.writeUInt32BE(key.h2, HEADER_BYTES + KEY_BYTES * i + 4);
  });
  return out;
}

/** The keys of a fill news message for `storeId`; null for anything else (another store, version, or a malformed message). */
export function decodeFillNews(storeId: Buffer, buf: Uint8Array): HashPair[] | null {
  if (buf.length < HEADER_BYTES || buf[0] !== FILL_NEWS_MAGIC || buf[1] !== VERSION) return null;
  if ((buf.length - HEADER_BYTES) % KEY_BYTES !== 0) return null;
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (!view.subarray(2, HEADER_BYTES).equals(storeId)) return null;
  const keys: HashPair[] = [];
  for (let at = HEADER_BYTES; at < view.length; at += KEY_BYTES) keys.push({ h1: view.readUInt32BE(at), h2: view.readUInt32BE(at + 4) });
  return keys;
}

export interface FillNewsOptions {
  readonly storeId: Buffer;
  /** How many times each fill is sent (memberlist's retransmit limit for the cluster's size). */
  readonly transmits: () => number;
  /** Keys another sidecar stored. */
  readonly learn: (keys: readonly HashPair[]) => void;
}

interface Queued {
  readonly key: HashPair;
  sent: number;
}

/** This sidecar's fill news on its way out, and the others' on their way in: a gossip channel (gossip/delegate-mux.ts). */
export class FillNews {
  readonly magic = FILL_NEWS_MAGIC;
  /** Keys told by this sidecar, learned from others, dropped unsent (counters for /metrics). */
  told = 0;
  learned = 0;
  dropped = 0;
  /** News not sent yet (oldest first), then news sent fewer than `transmits()` times (least recently sent first). */
  private fresh: Queued[] = [];
  private resend: Queued[] = [];
  private readonly options: FillNewsOptions;

  constructor(options: FillNewsOptions) {
    this.options = options;
  }

  /** This sidecar stored an entry under the URL directory whose key is `key`. */
  tell(key: HashPair): void {
    this.told++;
    this.fresh.push({ key, sent: 0 });
    if (this.fresh.length + this.resend.length <= MAX_QUEUED) return;
    // News already sent at least once goes first; then the oldest unsent.
    (this.resend.length > 0 ? this.resend : this.fresh).shift();
    this.dropped++;
  }

  /** Waiting to be sent (at least once more). */
  get queued(): number {
    return this.fresh.length + this.resend.length;
  }

  /** One message of news that fits in `limit` bytes with `overhead` more: unsent news first; none when there is none. */
  broadcasts(overhead: number, limit: number): Uint8Array[] {
    const room = Math.floor((limit - overhead - HEADER_BYTES) / KEY_BYTES);
    if (room <= 0 || this.queued === 0) return [];
    const picked = this.fresh.splice(0, room);
    picked.push(...this.resend.splice(0, room - picked.length));
    const max = this.options.transmits();
    for (const item of picked) if (++item.sent < max) this.resend.push(item);
    return [encodeFillNews(this.options.storeId, picked.map((item) => item.key))];
  }

  /** The counters, in the Prometheus text format. */
  metricsText(): string {
    const counter = (name: string, help: string, value: number): string =>
      `# HELP outrigger_cache_${name} ${help}\n# TYPE outrigger_cache_${name} counter\noutrigger_cache_${name} ${value}\n`;
    return counter('index_news_told_total', 'fills told to the gossip cluster for the other sidecars\' store indexes', this.told)
      + counter('index_news_learned_total', 'fills of other sidecars learned by gossip and added to the store index', this.learned)
      + counter('index_news_dropped_total', 'fill news dropped before it was sent its times (too many waiting)', this.dropped);
  }

  /** A message with our magic byte arrived: learn its keys if it is news of our store. */
  heard(buf: Uint8Array): void {
    const keys = decodeFillNews(this.options.storeId, buf);
    if (keys === null || keys.length === 0) return;
    this.learned += keys.length;
    this.options.learn(keys);
  }
}

/** Keys as the --workers messages carry them: h1, h2, h1, h2, … */
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
