/**
 * Cache news between the primary of `--workers N` and its workers, the IPC side of cache-news.ts:
 * fill keys as the control messages carry them (h1, h2, h1, h2, …), a worker's fills sent to the
 * primary in messages of a bounded size, and what the primary tells its workers of the news it
 * learns from the gossip cluster.
 */
import type { HashPair } from './bloom.js';
import { peerNotice, type CacheNewsOptions } from './cache-news.js';
import type { RemovalNotice } from './removals.js';

/**
 * Fills per control message. A fill is two 32-bit words, at most 22 bytes of JSON, so a message
 * holds at most ~45 KB: it fits a Linux pipe's 64 KiB buffer, and each process that reads it
 * parses and checks it in well under a millisecond. A message may hold up to 65,536 fills, and
 * one larger is refused whole (control/messages.ts): a burst of fills must never come near that.
 */
export const FILLS_PER_MESSAGE = 2048;

export function flatOf(keys: readonly HashPair[]): number[] {
  return keys.flatMap((key) => [key.h1, key.h2]);
}

export function pairsOf(flat: readonly number[]): HashPair[] {
  const keys: HashPair[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) keys.push({ h1: flat[i]!, h2: flat[i + 1]! });
  return keys;
}

/** A worker's fills for the primary: those of one turn of the event loop together, FILLS_PER_MESSAGE to a message. */
export function batchedFills(send: (flat: number[]) => void): (key: HashPair) => void {
  let batch: HashPair[] | null = null;
  return (key) => {
    if (batch === null) {
      batch = [];
      setImmediate(() => {
        const keys = batch!;
        batch = null;
        for (let at = 0; at < keys.length; at += FILLS_PER_MESSAGE) send(flatOf(keys.slice(at, at + FILLS_PER_MESSAGE)));
      });
    }
    batch.push(key);
  };
}

/** The primary's way to its workers (workers.ts). */
export interface ToWorkers {
  tellFills(keys: readonly number[]): void;
  tellRemoval(notice: RemovalNotice): void;
}

/**
 * What the primary tells its workers of the news it learns from the cluster: every removal (their
 * memory tiers, fetches and fills follow it), and fills only when the workers keep a store index
 * (`indexed`: --cache-index), the only reader of fills.
 */
export function toWorkers(workers: () => ToWorkers | null, indexed: boolean): Pick<CacheNewsOptions, 'learnFills' | 'learnRemoval'> {
  return {
    learnFills: (keys) => { if (indexed) workers()?.tellFills(flatOf(keys)); },
    learnRemoval: (removal) => workers()?.tellRemoval(peerNotice(removal)),
  };
}
