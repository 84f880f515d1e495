/**
 * Dropping entries: after a successful unsafe request (its URL and same-origin Location targets,
 * RFC 9111 §4.4), after a revalidation that says the entry is gone or wrong, and on an admin purge.
 */
import type { Answer, RequestView } from '../proxy/pipeline.js';
import type { FilterState, Pending } from './filter-state.js';
import { invalidates, invalidationTargets } from './invalidate.js';
import { entryKeys, type EntryKeys } from './key.js';
import { purge } from './purge.js';

export class Evictions {
  private readonly state: FilterState;

  constructor(state: FilterState) {
    this.state = state;
  }

  /**
   * An unsafe request got a non-error status: its targets are invalidated, once. Called at the
   * response head (RFC 9111 §4.4: on receiving it), so the removal has begun, here and in the
   * other workers, before the client can have the answer; and when the request is over.
   */
  afterResponse(req: RequestView, pending: Pending, status: number): void {
    if (pending.mode !== 'unsafe' || pending.invalidated === true || !invalidates(req.method, status)) return;
    pending.invalidated = true;
    void this.invalidate(req, pending);
  }

  private async invalidate(req: RequestView, pending: Pending): Promise<void> {
    const { prefix, scheme } = this.state.options;
    const targets = invalidationTargets(scheme, req.authority, req.target, pending.locations);
    await Promise.all(targets.map((target) => this.evict(entryKeys(prefix, scheme, req.authority, target))));
  }

  /**
   * Drops every variant of a URL; a fill running for it is not saved (the removal starts
   * synchronously, Entries.save), and no new reader joins its fetch.
   */
  async evict(keys: EntryKeys): Promise<void> {
    this.state.flights.drop(keys.url);
    this.state.stats.invalidations++;
    await this.state.entries.remove(keys).catch(() => undefined);
  }

  purge(req: RequestView): Promise<Answer> {
    const { entries, options, stats, flights } = this.state;
    // A purged URL's fetch, finished or not, holds what the purge drops: no new reader joins it.
    return purge(req, entries, options.prefix, (url) => {
      stats.invalidations++;
      flights.dropPrefix(url);
    });
  }
}
