/**
 * Whether the store is usable. A HeadBucket probe runs every interval; a failed store operation
 * marks it down at once, and only a probe brings it back. While down the cache is bypassed (every
 * request goes to the backends as if there were no cache). Each flip is reported once.
 *
 * The probe has the requests' deadline too: a store that accepts connections but answers slowly
 * would otherwise flap, marked down by late requests and brought back by a probe that may take as
 * long as it likes. A probe answered late is one more late store call: it keeps a down store down.
 */
type ProbeAnswer = 'answered' | 'late' | { readonly error: unknown };

export interface StoreHealthOptions {
  readonly intervalMs: number;
  readonly probe: () => Promise<void>;
  /** Called on every flip, never twice for the same state. */
  readonly report: (up: boolean, reason: string) => void;
  /**
   * The deadline requests give the store (deadline.ts): only a call answered within it ends a run of
   * late ones, and only a probe answered within it brings the store up (0: any answer).
   */
  readonly deadlineMs?: number;
  readonly setTimer?: (fn: () => void, ms: number) => { unref?(): void } & object;
  readonly clearTimer?: (timer: unknown) => void;
}

/** Store calls in a row that may miss their deadline before the store is taken as down. */
const SLOW_LIMIT = 3;

export class StoreHealth {
  /** Unknown until the first probe answers: the cache is bypassed meanwhile. */
  up = false;
  private probed = false;
  /** Store calls in a row that missed their deadline (slow()), reset by one that answered in time. */
  private slowInARow = 0;
  private timer: unknown = null;
  /** A probe has been sent and not answered yet (perhaps long past its deadline): no second one meanwhile. */
  private probing = false;
  private stopped = false;
  private readonly options: StoreHealthOptions;

  constructor(options: StoreHealthOptions) {
    this.options = options;
  }

  /** Probes now, then every interval. Resolves after the first probe. */
  async start(): Promise<void> {
    await this.check();
  }

  async check(): Promise<void> {
    if (!this.probing) this.judge(await this.probe());
    this.schedule();
  }

  /** A store operation failed: bypass until a probe succeeds. */
  failed(err: unknown): void {
    this.flip(false, describe(err));
  }

  /**
   * A request gave up waiting for the store (deadline.ts). One late answer is a blip; SLOW_LIMIT in
   * a row with none in time between mark the store down until a probe answers.
   */
  slow(reason: string): void {
    if (++this.slowInARow < SLOW_LIMIT) return;
    this.slowInARow = 0;
    this.flip(false, `${SLOW_LIMIT} store calls in a row ${reason}`);
  }

  /** A store call answered after `ms`: within the deadline, the store is not silent. */
  answered(ms: number): void {
    const deadline = this.options.deadlineMs ?? 0;
    if (deadline <= 0 || ms <= deadline) this.slowInARow = 0;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) (this.options.clearTimer ?? clearTimeout)(this.timer as NodeJS.Timeout);
    this.timer = null;
  }

  /** The probe's answer, or 'late' once the deadline has passed without one (a later answer is ignored). */
  private probe(): Promise<ProbeAnswer> {
    this.probing = true;
    const answer = new Promise<void>((resolve) => resolve(this.options.probe()))
      .then((): ProbeAnswer => 'answered', (error: unknown): ProbeAnswer => ({ error }))
      .finally(() => { this.probing = false; });
    const deadline = this.options.deadlineMs ?? 0;
    if (deadline <= 0) return answer;
    return new Promise((resolve) => {
      const timer = this.setTimer(() => resolve('late'), deadline);
      void answer.then((value) => {
        (this.options.clearTimer ?? clearTimeout)(timer as NodeJS.Timeout);
        resolve(value);
      });
    });
  }

  private judge(answer: ProbeAnswer): void {
    if (answer === 'answered') return this.flip(true, 'the store answers');
    if (answer !== 'late') return this.flip(false, describe(answer.error));
    const reason = `got no answer in ${this.options.deadlineMs} ms`;
    if (this.probed && this.up) this.slow(reason);
    else this.flip(false, `the probe ${reason}`);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.setTimer(() => { void this.check(); }, this.options.intervalMs);
  }

  private setTimer(fn: () => void, ms: number): unknown {
    const timer = (this.options.setTimer ?? setTimeout)(fn, ms);
    timer.unref?.();
    return timer;
  }

  private flip(up: boolean, reason: string): void {
    if (this.probed && this.up === up) return;
    this.probed = true;
    this.up = up;
    this.options.report(up, reason);
  }
}

/** A store error in one line: the S3 error code and HTTP status when there are some. */
export function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const parts = [e.code ?? e.name, status === undefined ? undefined : `HTTP ${status}`, e.message].filter((p) => p !== undefined && p !== '');
  return parts.join(': ') || String(err);
}
