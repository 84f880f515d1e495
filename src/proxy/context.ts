import type { Console } from '../observe/console.js';
import type { UpstreamSet } from '../upstream/upstream-set.js';
import type { Config } from '../config/types.js';
import { FilterChain } from './filters.js';
import type { BackendChooser, ProxyFilter } from './pipeline.js';

/** Holds requests that arrive before the first round of health checks has finished. */
export interface StartupGate {
  readonly open: boolean;
  /** Resolves when the first round is done or the wait bound (the health timeout) passes. */
  wait(): Promise<void>;
}

/**
 * Everything the forwarding core needs from the rest of Outrigger: the narrow interface between
 * policy (which backend, which filters, what to log) and the code that moves bytes.
 */
export interface ProxyContext {
  /** Health reports (requestFailed) and the size of the live backend set (the default retry budget). */
  readonly upstreams: UpstreamSet;
  /** Phase 3: which backend takes an attempt. */
  readonly chooser: BackendChooser;
  /** Phases 2, 5, 6, 7: local endpoints first, then cache, rate limits, ... */
  readonly filters: FilterChain;
  readonly console: Console;
  readonly startup: StartupGate;
  /** --max-retries; undefined: one attempt per backend of the largest site, counted when a retry is considered. */
  readonly maxRetries: number | undefined;
  readonly connectTimeoutMs: number;
  /** --max-conns-per-client: connections over it are closed as they are accepted; null: no cap. */
  readonly connectionCap?: { admit(ip: string): boolean; release(ip: string): void } | null;
  /** A backend must start its answer this long after the request was sent; 0: no limit. */
  readonly responseTimeoutMs: number;
  /** A response body may go this long without a byte from the backend; 0: no limit. */
  readonly readTimeoutMs: number;
  /** 'http' or 'https', for X-Forwarded-Proto. */
  readonly proto: string;
}

/** Requests wait for the first round of health checks, but never longer than the health timeout. */
export class FirstRound implements StartupGate {
  open = false;
  private readonly done: Promise<void>;
  private readonly boundMs: number;

  constructor(firstRound: Promise<void>, boundMs: number) {
    this.boundMs = boundMs;
    this.done = firstRound.then(() => { this.open = true; });
  }

  wait(): Promise<void> {
    if (this.open) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.boundMs);
      void this.done.then(() => { clearTimeout(timer); resolve(); });
    });
  }
}

/** The forwarding core's context over `upstreams`: the timeouts and retries of the configuration, and what the caller adds. */
export function forwardingContext(config: Config, upstreams: UpstreamSet, console: Console, startup: StartupGate, extra: {
  chooser?: ProxyContext['chooser'] | null; filters?: ProxyFilter[]; connectionCap?: ProxyContext['connectionCap']; proto: string;
}): ProxyContext {
  return {
    upstreams,
    chooser: extra.chooser ?? { pick: (_req, exclude) => upstreams.pick(exclude) },
    filters: new FilterChain(extra.filters ?? []),
    connectionCap: extra.connectionCap ?? null,
    console,
    startup,
    maxRetries: config.maxRetries,
    connectTimeoutMs: config.connectTimeout,
    responseTimeoutMs: config.responseTimeout,
    readTimeoutMs: config.readTimeout,
    proto: extra.proto,
  };
}

/** Attempts a request may make, the first included: follows the live backend set. */
export function attemptsAllowed(ctx: ProxyContext): number {
  return (ctx.maxRetries ?? ctx.upstreams.largestSite()) + 1;
}

/** Origin-form path for a request target; absolute-form is reduced to its path so traffic only ever goes to our backends. */
export function originForm(target: string): string | null {
  if (target.charCodeAt(0) === 47 /* / */) return target;
  if (target === '*') return target;
  const authority = /^https?:\/\/[^/?#]+/i.exec(target);
  if (authority === null) return null;
  try {
    new URL(target);
  } catch {
    return null;
  }
  // The rest is kept byte for byte, as an origin-form target would be: URL's pathname resolves dot
  // segments and re-encodes, which would change what the backend (and an S3 signature) sees.
  const rest = target.slice(authority[0].length);
  return rest.charCodeAt(0) === 47 /* / */ ? rest : `/${rest}`;
}
