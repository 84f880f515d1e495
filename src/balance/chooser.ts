import type { HostBalance } from '../config/types.js';
import type { Backend } from '../upstream/backend.js';
import type { Site, UpstreamSet } from '../upstream/upstream-set.js';
import { ConsistentHash } from './consistent-hash.js';
import { hash32 } from './hash.js';
import { keyOf, type HashKeySpec, type KeySource } from './hash-key.js';
import { pickerFor, pickLeast, type Picker } from './pickers.js';
import { Split } from './split.js';
import { StickyCookie } from './sticky.js';

export interface ChooserOptions {
  readonly hostBalance: HostBalance;
  /** --hash-key; with hashing and no key given, the client address. */
  readonly hashKey: HashKeySpec | undefined;
  /** --hash-balance-factor: bounded loads' c, 0 for off. */
  readonly hashBalanceFactor: number;
  /** --sticky-cookie NAME. */
  readonly stickyCookie: string | undefined;
  /** --split weights, one per site. */
  readonly split: readonly number[] | undefined;
}

const CLIENT_KEY: HashKeySpec = { kind: 'client' };

/**
 * The pick phase when any ambassador feature is on (otherwise UpstreamSet picks alone, as
 * before): the split decides which site is tried first; within a site a sticky cookie naming a
 * ready backend wins, then the consistent hash of the request's key (with --host-balance hash or
 * a sticky cookie to fall back from), else the site's usual picker. A request without the key
 * goes to the usual picker (least requests for hash). Structurally a pipeline BackendChooser.
 */
export class Chooser {
  readonly sticky: StickyCookie | null;
  private readonly upstreams: UpstreamSet;
  private readonly key: HashKeySpec | null;
  private readonly hashing: boolean;
  private readonly factor: number;
  private readonly split: Split | null;
  private readonly fallback: Picker;
  /** One table per site object: a reload makes new sites, and so new tables. */
  private readonly tables = new WeakMap<Site, ConsistentHash>();

  constructor(upstreams: UpstreamSet, options: ChooserOptions) {
    this.upstreams = upstreams;
    this.sticky = options.stickyCookie === undefined ? null : new StickyCookie(options.stickyCookie);
    this.hashing = options.hostBalance === 'hash' || this.sticky !== null;
    this.key = options.hashKey ?? (this.hashing ? CLIENT_KEY : null);
    this.factor = options.hashBalanceFactor;
    this.split = options.split === undefined ? null : new Split(options.split);
    this.fallback = options.hostBalance === 'hash' ? pickLeast : pickerFor(options.hostBalance);
  }

  pick(req: KeySource, exclude: readonly Backend[] | null): Backend | null {
    const sites = this.upstreams.sites;
    const pinned = this.sticky === null ? null : this.pinned(sites, req, exclude);
    if (pinned !== null) return pinned;
    const key = this.key === null ? null : keyOf(this.key, req);
    if (this.split === null || this.split.size !== sites.length) {
      for (let i = 0; i < sites.length; i++) {
        const b = this.pickIn(sites[i]!, req, key, exclude);
        if (b !== null) return b;
      }
    } else {
      const order = this.split.order(key);
      for (let i = 0; i < order.length; i++) {
        const b = this.pickIn(sites[order[i]!]!, req, key, exclude);
        if (b !== null) return b;
      }
    }
    // Nothing ready and not tried: the upstream set's own rules (panic routing) have the last word.
    return this.upstreams.pick(exclude);
  }

  /** The ready backend the sticky cookie names, in whichever site (a pin outranks the split). */
  private pinned(sites: readonly Site[], req: KeySource, exclude: readonly Backend[] | null): Backend | null {
    const value = req.cookie(this.sticky!.name);
    if (value === undefined) return null;
    for (let i = 0; i < sites.length; i++) {
      const b = this.sticky!.pinned(sites[i]!.ready, exclude, value);
      if (b !== null) return b;
    }
    return null;
  }

  private pickIn(site: Site, req: KeySource, key: string | null, exclude: readonly Backend[] | null): Backend | null {
    const ready = site.ready;
    if (ready.length === 0) return null;
    if (!this.hashing || key === null) return this.fallback(ready, exclude, site);
    let table = this.tables.get(site);
    if (table === undefined) this.tables.set(site, table = new ConsistentHash(this.factor));
    return table.pick(ready, exclude, hash32(key));
  }
}
