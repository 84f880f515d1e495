/**
 * Resolved addresses of backend host names, refreshed every --dns-ttl off the request path.
 * Connections take an address from here (round robin over the answer); a failed lookup keeps the
 * last good answer, so a DNS outage never takes a working backend away.
 */
import type { AddressBook, ConnectAddress } from '../upstream/backend.js';

/** An address of a name; `ttlMs` is the record's TTL when the resolver tells it (--dns-server does, getaddrinfo does not). */
export type ResolvedAddress = ConnectAddress & { readonly ttlMs?: number };

/**
 * The shortest wait between lookups of a name: a record with TTL 0 (Kubernetes headless services
 * often have a few seconds) is not asked for in a loop. An explicit shorter --dns-ttl still wins.
 */
export const TTL_FLOOR_MS = 1_000;

/** Every address of one name; rejects (or returns []) when there is none. */
export type LookupAll = (name: string) => Promise<readonly ResolvedAddress[]>;

/** Runs `fn` after `ms`; returns a cancel function. Injected so tests drive refreshes themselves. */
export type Schedule = (fn: () => void, ms: number) => () => void;

export type DnsEvent =
  /** A name's address set changed (the first answer included); `previous` is [] the first time. */
  | { readonly kind: 'changed'; readonly name: string; readonly addresses: readonly ResolvedAddress[]; readonly previous: readonly ResolvedAddress[] }
  /** The first failure of a streak (later failures of the same streak are silent). */
  | { readonly kind: 'failed'; readonly name: string; readonly error: string; readonly kept: readonly ResolvedAddress[] }
  /** The first success after a failure streak. */
  | { readonly kind: 'recovered'; readonly name: string; readonly addresses: readonly ResolvedAddress[] };

export interface DnsCacheOptions {
  readonly lookup: LookupAll;
  /** Milliseconds between refreshes of every tracked name (--dns-ttl); a shorter record TTL wins (with TTL_FLOOR_MS). */
  readonly ttlMs: number;
  /** A name that has never resolved is asked again this often (when shorter than the TTL); default 5 s. */
  readonly retryMs?: number;
  readonly schedule?: Schedule;
  readonly onEvent?: (event: DnsEvent) => void;
  /** After a lookup round (track or refresh) in which at least one name's addresses changed. */
  readonly onChange?: (names: readonly string[]) => void;
  /** Date.now by default; injected by tests. */
  readonly now?: () => number;
}

interface Entry {
  /** The last good answer ([] until one arrives). */
  addresses: readonly ResolvedAddress[];
  cursor: number;
  /** Why the last lookup failed; '' after a success or before the first answer. */
  error: string;
  failing: boolean;
  pending: Promise<boolean> | null;
  /** When the last lookup started (for the rate limit of refreshSoon). */
  askedAt: number;
}

const defaultSchedule: Schedule = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/** The error a connection attempt gets when its name has no address; ENOTFOUND counts as a connect error (retried elsewhere). */
export class DnsLookupError extends Error {
  readonly code = 'ENOTFOUND';
  constructor(name: string, why: string) {
    super(`${name} did not resolve${why === '' ? ' yet' : `: ${why}`}`);
  }
}

export class DnsCache implements AddressBook {
  private readonly entries = new Map<string, Entry>();
  private readonly options: DnsCacheOptions;
  private readonly schedule: Schedule;
  private cancelTimer: (() => void) | null = null;
  private cancelRetry: (() => void) | null = null;
  private running = false;

  constructor(options: DnsCacheOptions) {
    this.options = options;
    this.schedule = options.schedule ?? defaultSchedule;
  }

  /** The names looked up; dropped names are forgotten. Resolves once every new name has had its first lookup. */
  async track(names: Iterable<string>): Promise<void> {
    const wanted = new Set(names);
    for (const name of [...this.entries.keys()]) if (!wanted.has(name)) this.entries.delete(name);
    const fresh = [...wanted].filter((name) => !this.entries.has(name));
    for (const name of fresh) this.entries.set(name, { addresses: [], cursor: 0, error: '', failing: false, pending: null, askedAt: -Infinity });
    await this.round(fresh);
  }

  /** Look every tracked name up again now (what the timer does every TTL, and SIGHUP). */
  async refresh(): Promise<void> {
    await this.round([...this.entries.keys()]);
  }

  /**
   * Connections or probes to an address of `name` fail: the name may have moved (a pod restarted
   * under a new address). Look it up again now, at most once per TTL_FLOOR_MS.
   */
  refreshSoon(name: string): void {
    const entry = this.entries.get(name);
    const now = this.now();
    if (entry === undefined || entry.pending !== null || now - entry.askedAt < TTL_FLOOR_MS) return;
    void this.round([name]);
  }

  /** The wait until the next refresh: --dns-ttl, or the shortest record TTL when shorter (not under TTL_FLOOR_MS). */
  period(): number {
    let shortest = this.options.ttlMs;
    for (const e of this.entries.values()) for (const a of e.addresses) if (a.ttlMs !== undefined && a.ttlMs < shortest) shortest = a.ttlMs;
    return shortest >= this.options.ttlMs ? this.options.ttlMs : Math.min(this.options.ttlMs, Math.max(TTL_FLOOR_MS, shortest));
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Refresh every TTL from now on (and names without any address sooner, see retryMs). */
  start(): void {
    this.running = true;
    this.arm();
    this.armRetry();
  }

  stop(): void {
    this.running = false;
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.cancelRetry?.();
    this.cancelRetry = null;
  }

  /**
   * A worker of `--workers N` does no lookups: it takes the primary's answer for `name` (tracking
   * the name if new). True when the name's address set changed.
   */
  adopt(name: string, addresses: readonly ResolvedAddress[]): boolean {
    let entry = this.entries.get(name);
    if (entry === undefined) {
      entry = { addresses: [], cursor: 0, error: '', failing: false, pending: null, askedAt: -Infinity };
      this.entries.set(name, entry);
    }
    if (sameSet(entry.addresses, addresses)) return false;
    entry.addresses = addresses;
    entry.cursor = 0;
    return true;
  }

  /** The names tracked now. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The last good answer for a name ([] when none yet). */
  addresses(name: string): readonly ResolvedAddress[] {
    return this.entries.get(name)?.addresses ?? [];
  }

  /** Why the name has no address, or why its last refresh failed ('' when it did not). */
  lastError(name: string): string {
    return this.entries.get(name)?.error ?? '';
  }

  /**
   * The addresses for the next new connection: first the next one of the last good answer, round
   * robin, then the addresses of the other family. net tries them in turn (happy eyeballs), so a
   * name like localhost (::1 and 127.0.0.1) still reaches a server bound to one family only;
   * other addresses of the same family are left out, so the spread stays exact.
   */
  next(name: string): readonly ResolvedAddress[] | Error {
    const entry = this.entries.get(name);
    const list = entry?.addresses ?? [];
    if (entry === undefined || list.length === 0) return new DnsLookupError(name, entry?.error ?? '');
    const picked = list[entry.cursor % list.length]!;
    entry.cursor = (entry.cursor + 1) % list.length;
    if (list.length === 1) return list;
    return [picked, ...list.filter((a) => a.family !== picked.family)];
  }

  private arm(): void {
    if (!this.running) return;
    this.cancelTimer?.();
    this.cancelTimer = this.schedule(() => {
      this.cancelTimer = null;
      void this.refresh().finally(() => this.arm());
    }, this.period());
  }

  /** DNS may come up after Outrigger: a name with no address yet is not left waiting a whole TTL. */
  private armRetry(): void {
    const retryMs = Math.min(this.options.retryMs ?? 5_000, this.options.ttlMs);
    if (!this.running || this.cancelRetry !== null || retryMs >= this.options.ttlMs) return;
    if (![...this.entries.values()].some((e) => e.addresses.length === 0)) return;
    this.cancelRetry = this.schedule(() => {
      this.cancelRetry = null;
      const unresolved = [...this.entries].filter(([, e]) => e.addresses.length === 0).map(([name]) => name);
      void this.round(unresolved);
    }, retryMs);
  }

  private async round(names: readonly string[]): Promise<void> {
    const changed = await Promise.all(names.map((name) => this.resolve(name)));
    const changedNames = names.filter((_, i) => changed[i]);
    if (changedNames.length > 0) this.options.onChange?.(changedNames);
    this.armRetry();
  }

  /** One lookup of one name (joined when one is already under way); true when its address set changed. */
  private resolve(name: string): Promise<boolean> {
    const entry = this.entries.get(name);
    if (entry === undefined) return Promise.resolve(false);
    if (entry.pending !== null) return entry.pending.then(() => false);
    entry.askedAt = this.now();
    const pending = this.options.lookup(name).then(
      (answer) => this.settle(name, entry, unique(answer), answer.length === 0 ? 'no address in the answer' : ''),
      (err: Error & { code?: string }) => this.settle(name, entry, [], describe(err)),
    );
    entry.pending = pending;
    return pending;
  }

  private settle(name: string, entry: Entry, answer: readonly ResolvedAddress[], error: string): boolean {
    entry.pending = null;
    // Dropped (or dropped and tracked again) while the lookup was under way.
    if (this.entries.get(name) !== entry) return false;
    const emit = this.options.onEvent;
    if (answer.length === 0) {
      const why = error === '' ? 'no address in the answer' : error;
      entry.error = why;
      if (!entry.failing) emit?.({ kind: 'failed', name, error: why, kept: entry.addresses });
      entry.failing = true;
      return false;
    }
    entry.error = '';
    if (entry.failing) emit?.({ kind: 'recovered', name, addresses: answer });
    entry.failing = false;
    if (sameSet(entry.addresses, answer)) return false;
    const previous = entry.addresses;
    entry.addresses = answer;
    entry.cursor = 0;
    emit?.({ kind: 'changed', name, addresses: answer, previous });
    return true;
  }
}

function unique(list: readonly ResolvedAddress[]): ResolvedAddress[] {
  const seen = new Set<string>();
  const out: ResolvedAddress[] = [];
  for (const a of list) {
    if (seen.has(a.address)) continue;
    seen.add(a.address);
    out.push(a);
  }
  return out;
}

function sameSet(a: readonly ResolvedAddress[], b: readonly ResolvedAddress[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map((x) => x.address));
  return b.every((x) => set.has(x.address));
}

function describe(err: Error & { code?: string }): string {
  if (err.code !== undefined && !err.message.includes(err.code)) return `${err.code}: ${err.message}`;
  return err.message;
}
