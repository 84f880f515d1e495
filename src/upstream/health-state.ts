/**
 * The health of one endpoint as independent flags, Envoy style: a backend is in rotation only when
 * none of them holds it out.
 *
 * - `activeUp`: the verdict of the active check (probes, with rise/fall thresholds).
 * - `passiveOut`: request errors gave enough evidence (PASSIVE_EVIDENCE: several failures within
 *   a short window, not one reset connection). A passing probe clears it, as in sidekick.
 * - `ejectedUntil`: outlier ejection (src/balance) keeps the backend out until that time, whatever
 *   the checks say. Set it through UpstreamSet.eject(), which also brings the backend back.
 *
 * A HealthState belongs to an endpoint (scheme, address, port, health URL), not to a Backend
 * object or a site: the membership hands the same state to a backend that moves or comes back
 * (HealthTable), and the next probe re-confirms it.
 */

/** How much request-error evidence takes a backend out: `failures` within `windowMs`. */
export interface PassiveEvidence {
  readonly failures: number;
  readonly windowMs: number;
}

/**
 * Three failed requests within ten seconds. One reset connection (a server shedding load, a test
 * suite closing a socket on purpose) is not enough: it only makes the checker probe at once.
 */
export const PASSIVE_EVIDENCE: PassiveEvidence = { failures: 3, windowMs: 10_000 };

export type Transition = 'up' | 'down' | null;

export class HealthState {
  /** The active check's verdict; false until a probe passes. */
  activeUp = false;
  /** False until the first probe has answered: the first result decides at once. */
  probed = false;
  consecutiveOk = 0;
  consecutiveFail = 0;
  /** Out on request-error evidence until a probe passes. */
  passiveOut = false;
  /** Request failures counted in the current window, and when that window opened (ms). */
  failures = 0;
  failureWindowStart = 0;
  /** Outlier ejection: out until this time (Date.now() ms); 0 when not ejected. */
  ejectedUntil = 0;
  /** Whether requests may be sent here: every flag agrees. */
  online = false;
  /** Date.now() when `online` last changed (or when the state was created). */
  since: number;
  /** How long the last outage lasted, set when the backend comes back. */
  lastDowntimeMs = 0;
  lastError = '';

  constructor(now: number) {
    this.since = now;
  }

  /** What holds the backend out of rotation, for people ('' when online). */
  reason(now: number): string {
    if (this.online) return '';
    if (!this.probed) return 'not checked yet';
    if (!this.activeUp) return `health check failed: ${this.lastError}`;
    if (this.passiveOut) return `request errors: ${this.lastError}`;
    if (this.ejectedUntil > now) return `ejected as an outlier: ${this.lastError}`;
    return this.lastError;
  }

  /**
   * One probe result. The very first result decides at once (a backend starts unknown), later
   * ones need rise/fall in a row. A passing probe also clears the request-error evidence.
   */
  recordProbe(ok: boolean, reason: string, rise: number, fall: number, now: number): Transition {
    const first = !this.probed;
    this.probed = true;
    if (ok) {
      this.consecutiveOk++;
      this.consecutiveFail = 0;
      this.passiveOut = false;
      this.failures = 0;
      if (first || this.consecutiveOk >= rise) this.activeUp = true;
      return this.settle(now);
    }
    this.consecutiveFail++;
    this.consecutiveOk = 0;
    this.lastError = reason;
    if (first || this.consecutiveFail >= fall) this.activeUp = false;
    // A first failure is news even though the backend was never online.
    return first ? 'down' : this.settle(now);
  }

  /**
   * A request to this backend failed (transport error or upstream timeout). Returns 'down' once
   * the evidence suffices; until then the backend stays in rotation, merely suspected.
   */
  recordRequestFailure(reason: string, now: number, evidence: PassiveEvidence = PASSIVE_EVIDENCE): Transition {
    this.lastError = reason;
    if (now - this.failureWindowStart > evidence.windowMs) {
      this.failureWindowStart = now;
      this.failures = 0;
    }
    this.failures++;
    if (this.failures >= evidence.failures) this.passiveOut = true;
    return this.settle(now);
  }

  /** Outlier ejection until `until` (Date.now() ms); `until` <= now lifts it. */
  eject(until: number, reason: string, now: number): Transition {
    this.ejectedUntil = until > now ? until : 0;
    if (until > now) this.lastError = reason;
    return this.settle(now);
  }

  /** Whether the backend is out only on request evidence or ejection, its active check passing (panic routing tries these). */
  merelySuspected(): boolean {
    return !this.online && this.probed && this.activeUp;
  }

  /** Recompute `online` from the flags; the transition, if any. */
  settle(now: number): Transition {
    const wanted = this.activeUp && !this.passiveOut && this.ejectedUntil <= now;
    if (wanted === this.online) return null;
    this.online = wanted;
    if (wanted) this.lastDowntimeMs = Math.max(0, now - this.since);
    this.since = now;
    return wanted ? 'up' : 'down';
  }
}

/**
 * Health states by endpoint key, kept for a while after their backend leaves, so one that comes
 * back (a pod restarted under the same address, a line edited back into the sites file, a move
 * to another site) starts from what was known rather than from scratch.
 */
export class HealthTable {
  private readonly states = new Map<string, { state: HealthState; leftAt: number | null }>();
  private readonly keepMs: number;

  constructor(keepMs = 10 * 60_000) {
    this.keepMs = keepMs;
  }

  /** The state of this endpoint, created when unknown; marks it in use. */
  take(key: string, now: number): HealthState {
    this.forgetOld(now);
    const found = this.states.get(key);
    if (found !== undefined) {
      found.leftAt = null;
      return found.state;
    }
    const state = new HealthState(now);
    this.states.set(key, { state, leftAt: null });
    return state;
  }

  /** The endpoint has no backend any more: remember its state for keepMs. */
  release(key: string, now: number): void {
    const found = this.states.get(key);
    if (found !== undefined) found.leftAt = now;
  }

  get size(): number {
    return this.states.size;
  }

  private forgetOld(now: number): void {
    for (const [key, entry] of this.states) if (entry.leftAt !== null && now - entry.leftAt > this.keepMs) this.states.delete(key);
  }
}
