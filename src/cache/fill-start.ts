/**
 * Starts storing a response as it is relayed: a Fill into the store (the entry's metadata in the
 * body object's own PUT when it fits), the single-flight fetch opened to followers, and once the
 * body ended cleanly the entry completed (meta.json beside it when it did not fit; unless a
 * removal of the URL started since its request was looked up: Entries.save). Returns the body tap
 * the pipeline feeds.
 */
import type { BodyTap, RequestView } from '../proxy/pipeline.js';
import { storedHeaders } from './answers.js';
import type { Entries } from './entries.js';
import type { Entry } from './entry.js';
import { Fill, STORE_TOO_SLOW } from './fill.js';
import { fillTap } from './fill-tap.js';
import type { Flight } from './flight.js';
import { variantDir, type EntryKeys } from './key.js';
import type { PreparedResponse } from './policy.js';
import { inlineFields, type EntryHead } from './store-meta.js';
import { finishWithoutClient, type QuickAbort } from './quick-abort.js';
import type { CacheStats } from './stats.js';
import { variantId } from './vary.js';

export interface FillSetup {
  readonly entries: Entries;
  readonly stats: CacheStats;
  readonly minSize: number;
  readonly maxBuffered: number;
  readonly quickAbort: QuickAbort;
}

export interface FillRequest {
  readonly req: RequestView;
  readonly keys: EntryKeys;
  readonly prepared: PreparedResponse;
  readonly policy: Entry['policy'];
  /** Content-Length, or -1. */
  readonly expected: number;
  /** The single-flight fetch this response feeds, if any. */
  readonly flight: Flight | null;
  /** The removal token when the request was looked up (Entries.token()), before it was forwarded. */
  readonly token: number;
}

export function startFill(setup: FillSetup, asked: FillRequest): BodyTap {
  const { entries, stats } = setup;
  const { keys, prepared, expected, flight, token } = asked;
  const variant = variantId(prepared.vary, (name) => asked.req.header(name));
  const dir = variantDir(keys, variant);
  const head: EntryHead = { v: 1, url: keys.url, status: prepared.status, headers: prepared.replay, vary: prepared.vary, policy: asked.policy };
  // The metadata goes with the body's own PUT when it fits (store-meta.ts): one object, one write.
  const fill = new Fill(entries.store.upload(entries.bodyKey(dir), expected, () => inlineFields(head)), { expected, minSize: setup.minSize, maxBuffered: setup.maxBuffered });
  const over = entries.filling(keys.dir, token);
  const headers = storedHeaders({ headers: prepared.replay } as Entry, 0, { fwd: 'miss', stored: true });
  flight?.start({ status: prepared.status, headers, length: expected, vary: prepared.vary, variant });
  const failed = (): void => {
    over();
    stats.fillsAborted++;
    if (fill.reason === STORE_TOO_SLOW) stats.fillsStoreTooSlow++;
    flight?.settle(null);
  };
  const save = async (body: Buffer | undefined): Promise<void> => {
    const etag = await fill.finish();
    if (etag === null) return failed();
    const entry: Entry = { ...head, size: fill.bytes, bodyEtag: etag, ...(fill.inline ? { inline: true } : {}) };
    if (!await entries.save(keys, dir, entry, body, token)) return failed();
    over();
    stats.fillsCompleted++;
    stats.bytesStored += fill.bytes;
    flight?.settle((from) => entries.openBody({ entry, dir, urlDir: keys.dir, body: undefined, token }, { start: from, end: entry.size - 1 }));
  };
  return fillTap({
    fill, flight,
    keepUpTo: entries.memory?.maxObject ?? 0,
    expected,
    aborted: failed,
    // Followers are clients too: their fetch goes on whatever the policy says.
    keepGoing: (received) => {
      const finish = (flight?.followers ?? 0) > 0 || (fill.state === 'writing' && finishWithoutClient(setup.quickAbort, received, expected, 0));
      if (finish) stats.fillsFinishedWithoutClient++;
      return finish;
    },
    ended: (body) => { save(body).catch(failed); },
  });
}
