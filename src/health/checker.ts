import type { Config } from '../config/types.js';
import type { Backend } from '../upstream/backend.js';
import type { UpstreamSet } from '../upstream/upstream-set.js';
import { probe, type ProbeResult } from './probe.js';

type HealthOptions = Pick<Config, 'healthDuration' | 'healthTimeout' | 'healthOptimistic' | 'healthRise' | 'healthFall' | 'insecure'>;

/** The share of the interval added at random to each wait. */
const JITTER = 0.5;

export type ProbeListener = (backend: Backend, result: ProbeResult) => void;

/**
 * Active readiness checks: every backend is probed at once, then again after a wait drawn
 * uniformly from [d, 1.5d) so a fleet of sidecars does not probe in lockstep, while a hung
 * backend (no answer within the timeout) is still found within about two intervals. In optimistic mode a
 * healthy backend is left alone until a request error takes it down.
 */
export class HealthChecker {
  private readonly upstreams: UpstreamSet;
  private readonly options: HealthOptions;
  private readonly timers = new Map<Backend, NodeJS.Timeout>();
  private readonly probing = new Set<Backend>();
  private stopped = false;
  private started = false;
  onProbe: ProbeListener | null = null;

  /** Follows the set by itself: new backends are probed at once, removed ones forgotten, a failed request re-checked at once. */
  constructor(upstreams: UpstreamSet, options: HealthOptions) {
    this.upstreams = upstreams;
    this.options = options;
    upstreams.onFailure((b, source) => { if (source === 'request') this.schedule(b, 0); });
    upstreams.onMembership(({ added, removed }) => {
      if (this.started) void this.sync(added, removed);
    });
  }

  /** Probe every backend now; resolves when each has answered once (the first round). */
  start(): Promise<void> {
    this.started = true;
    return Promise.all(this.upstreams.backends().map((b) => this.check(b))).then(() => undefined);
  }

  /** Probe new backends now (carried-over health is re-confirmed), forget removed ones. Resolves after the new ones' first probe. */
  private sync(added: readonly Backend[], removed: readonly Backend[]): Promise<void> {
    for (const b of removed) this.cancel(b);
    return Promise.all(added.map((b) => this.check(b))).then(() => undefined);
  }

  stop(): void {
    this.stopped = true;
    for (const b of [...this.timers.keys()]) this.cancel(b);
  }

  private cancel(b: Backend): void {
    const t = this.timers.get(b);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(b);
  }

  private schedule(b: Backend, delayMs: number): void {
    if (this.stopped || this.timers.has(b) || this.probing.has(b)) return;
    const timer = setTimeout(() => {
      this.timers.delete(b);
      void this.check(b);
    }, delayMs);
    timer.unref();
    this.timers.set(b, timer);
  }

  private async check(b: Backend): Promise<void> {
    if (this.probing.has(b)) return;
    this.probing.add(b);
    const result = await probe(b.healthUrl, { timeoutMs: this.options.healthTimeout, insecure: this.options.insecure, lookup: b.lookup, tls: b.tls });
    this.probing.delete(b);
    if (this.stopped || !this.isCurrent(b)) return;
    b.stats.recordHealthCheck(result.ok, result.durationMs);
    this.upstreams.probeResult(b, result.ok, result.reason, this.options.healthRise, this.options.healthFall);
    this.onProbe?.(b, result);
    if (this.options.healthOptimistic && b.online) return;
    const d = this.options.healthDuration;
    this.schedule(b, d + Math.random() * d * JITTER);
  }

  private isCurrent(b: Backend): boolean {
    return this.upstreams.sites[b.siteIndex]?.backends.includes(b) ?? false;
  }
}
