import type { Backend } from '../upstream/backend.js';

export interface OutlierSettings {
  /** Consecutive 5xx answers that eject a backend; 0: off. */
  readonly consecutive5xx: number;
  /** Consecutive gateway failures (502, 503, 504, or no answer at all) that eject; 0: off. */
  readonly consecutiveGateway: number;
  /** Eject a backend whose success rate is this many standard deviations below its site's mean; 0: off. */
  readonly successRateStdev: number;
  /** A backend needs this many answers in an interval to be judged by success rate. */
  readonly successRateMinRequests: number;
  /** ...and its site this many such backends. */
  readonly successRateMinHosts: number;
  /** How often decisions on success rate, returns and backoff run. */
  readonly intervalMs: number;
  /** The first ejection lasts this long; each further one a multiple of it... */
  readonly baseEjectionMs: number;
  /** ...up to this. */
  readonly maxEjectionMs: number;
  /** Never more than this share (0..1) of a site's backends ejected at once. */
  readonly maxEjectedShare: number;
}

/** Where ejections take effect (the upstream set's health flags), and are logged with their reason. */
export interface EjectionTarget {
  /** Out of rotation until `untilMs` (Date.now() scale). */
  eject(b: Backend, untilMs: number, reason: string): void;
  restore(b: Backend): void;
  /** The backends of `b`'s site, ejected ones included. */
  siteOf(b: Backend): readonly Backend[];
}

class OutlierState {
  consecutive5xx = 0;
  consecutiveGateway = 0;
  /** Answers and successes (< 500) in the current interval. */
  total = 0;
  ok = 0;
  /** Ejections so far, less one per base ejection time spent back in rotation. */
  multiplier = 0;
  /** 0 when in rotation. */
  ejectedUntil = 0;
  /** When the multiplier last changed or the backend last came back. */
  since = 0;
  /** Queued for a decision already. */
  suspect = false;
}

/** What the detector has done, for metrics and logs. */
export interface OutlierCounters {
  ejections: number;
  returns: number;
  /** Ejections that the share cap prevented. */
  refused: number;
}

/**
 * Outlier detection in Envoy's manner: the request path only counts (record), decisions run
 * apart from it, on the interval timer and right after a request crosses a consecutive-failure
 * threshold (scheduled, not inline). An ejection lasts base × the number of recent ejections,
 * capped; it ends on the first interval tick after it expires.
 */
export class OutlierDetector {
  readonly settings: OutlierSettings;
  readonly counters: OutlierCounters = { ejections: 0, returns: 0, refused: 0 };
  private readonly target: EjectionTarget;
  private readonly now: () => number;
  private readonly schedule: (fn: () => void) => void;
  private readonly states = new Map<Backend, OutlierState>();
  private suspects: Backend[] = [];
  private scheduled = false;

  constructor(settings: OutlierSettings, target: EjectionTarget, options: {
    now?: () => number; schedule?: (fn: () => void) => void;
  } = {}) {
    this.settings = settings;
    this.target = target;
    this.now = options.now ?? Date.now;
    this.schedule = options.schedule ?? setImmediate;
  }

  /** One answer from `b` (its status), or 0 when the attempt got no answer (connect error, reset, timeout). */
  record(b: Backend, status: number): void {
    let s = this.states.get(b);
    if (s === undefined) this.states.set(b, s = new OutlierState());
    // Its ejection ran out before the next tick (the upstream set lifts it on time): it is back.
    if (s.ejectedUntil !== 0) this.returnIfDue(b, s);
    s.total++;
    const gateway = status === 0 || status === 502 || status === 503 || status === 504;
    if (status !== 0 && status < 500) {
      s.ok++;
      s.consecutive5xx = s.consecutiveGateway = 0;
      return;
    }
    s.consecutive5xx++;
    s.consecutiveGateway = gateway ? s.consecutiveGateway + 1 : 0;
    if (!s.suspect && s.ejectedUntil === 0 && this.crossed(s)) {
      s.suspect = true;
      this.suspects.push(b);
      if (!this.scheduled) {
        this.scheduled = true;
        this.schedule(this.decideSuspects);
      }
    }
  }

  ejected(b: Backend): boolean {
    return (this.states.get(b)?.ejectedUntil ?? 0) > 0;
  }

  private crossed(s: OutlierState): boolean {
    const { consecutive5xx, consecutiveGateway } = this.settings;
    return (consecutive5xx > 0 && s.consecutive5xx >= consecutive5xx) || (consecutiveGateway > 0 && s.consecutiveGateway >= consecutiveGateway);
  }

  private readonly decideSuspects = (): void => {
    this.scheduled = false;
    const suspects = this.suspects;
    this.suspects = [];
    for (const b of suspects) {
      const s = this.states.get(b)!;
      s.suspect = false;
      if (s.ejectedUntil === 0 && this.crossed(s)) {
        this.eject(b, s, s.consecutiveGateway >= this.settings.consecutiveGateway && this.settings.consecutiveGateway > 0
          ? `${s.consecutiveGateway} consecutive gateway failures` : `${s.consecutive5xx} consecutive 5xx answers`);
      }
    }
  };

  /** The interval's work: returns, backoff decay, success-rate ejections; then a new interval. */
  tick(): void {
    const now = this.now();
    for (const [b, s] of this.states) {
      if (s.ejectedUntil !== 0 && now >= s.ejectedUntil) this.restore(b, s, now);
      else if (s.ejectedUntil === 0 && s.multiplier > 0 && now - s.since >= this.settings.baseEjectionMs) {
        s.multiplier--;
        s.since = now;
      }
    }
    if (this.settings.successRateStdev > 0) this.judgeSuccessRates();
    for (const s of this.states.values()) s.total = s.ok = 0;
  }

  private returnIfDue(b: Backend, s: OutlierState): void {
    const now = this.now();
    if (now >= s.ejectedUntil) this.restore(b, s, now);
  }

  /** Forget backends that left the configuration. */
  forget(b: Backend): void {
    this.states.delete(b);
  }

  private judgeSuccessRates(): void {
    const sites = new Map<readonly Backend[], { b: Backend; s: OutlierState; rate: number }[]>();
    for (const [b, s] of this.states) {
      if (s.ejectedUntil !== 0 || s.total < this.settings.successRateMinRequests) continue;
      const site = this.target.siteOf(b);
      let list = sites.get(site);
      if (list === undefined) sites.set(site, list = []);
      list.push({ b, s, rate: s.ok / s.total });
    }
    for (const list of sites.values()) {
      if (list.length < this.settings.successRateMinHosts) continue;
      const mean = list.reduce((a, e) => a + e.rate, 0) / list.length;
      const sd = Math.sqrt(list.reduce((a, e) => a + (e.rate - mean) ** 2, 0) / list.length);
      const floor = mean - this.settings.successRateStdev * sd;
      for (const e of list) {
        if (e.rate < floor) this.eject(e.b, e.s, `success rate ${(e.rate * 100).toFixed(1)}% against a site mean of ${(mean * 100).toFixed(1)}%`);
      }
    }
  }

  private eject(b: Backend, s: OutlierState, why: string): void {
    const site = this.target.siteOf(b);
    const out = site.reduce((n, x) => n + (this.ejected(x) ? 1 : 0), 0);
    if (out + 1 > Math.floor(this.settings.maxEjectedShare * site.length)) {
      this.counters.refused++;
      return;
    }
    const now = this.now();
    s.multiplier++;
    const ms = Math.min(this.settings.baseEjectionMs * s.multiplier, Math.max(this.settings.maxEjectionMs, this.settings.baseEjectionMs));
    s.ejectedUntil = now + ms;
    s.since = now;
    s.consecutive5xx = s.consecutiveGateway = 0;
    this.counters.ejections++;
    this.target.eject(b, s.ejectedUntil, `${why}, ejected for ${ms / 1000}s`);
  }

  private restore(b: Backend, s: OutlierState, now: number): void {
    s.ejectedUntil = 0;
    s.since = now;
    this.counters.returns++;
    this.target.restore(b);
  }
}
