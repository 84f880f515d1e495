import type { Catalog } from './catalog.js';
import { expandTemplates, runCheck, type CheckResult } from './checks.js';
import type { LocalSpec } from './local-config.js';
import { Status, type StatusCode } from './types.js';

export interface LocalOptions {
  /** Between check rounds (Sidecar: 3 s). */
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Consecutive passes that bring an instance up, failures that take it down (Sidecar flipped on one). */
  readonly rise: number;
  readonly fall: number;
}

interface Tracked {
  spec: LocalSpec;
  status: StatusCode;
  /** Results in a row that disagree with `status`. */
  streak: number;
  draining: boolean;
  /** False until the first healthy or failed result. */
  decided: boolean;
}

/**
 * This node's own services: announced in the catalog, checked every interval, and moved between
 * ALIVE, UNHEALTHY and UNKNOWN by rise/fall thresholds. A drained instance stays DRAINING until
 * it is removed. The catalog hears only of changes (and of the owner's periodic re-announce).
 */
export class LocalServices {
  private readonly catalog: Catalog;
  private readonly options: LocalOptions;
  private readonly tracked = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | null = null;

  constructor(catalog: Catalog, options: LocalOptions) {
    this.catalog = catalog;
    this.options = options;
  }

  /** The services now configured: new ones are announced (UNKNOWN until checked), gone ones tombstoned. */
  set(specs: readonly LocalSpec[]): void {
    const wanted = new Map(specs.map((s) => [s.service.ID, s]));
    for (const id of this.tracked.keys()) {
      if (!wanted.has(id)) {
        this.tracked.delete(id);
        this.catalog.removeLocal(id);
      }
    }
    for (const [id, spec] of wanted) {
      const t = this.tracked.get(id);
      if (t !== undefined) { t.spec = spec; continue; }
      this.tracked.set(id, { spec, status: Status.UNKNOWN, streak: 0, draining: false, decided: false });
      this.catalog.setLocal({ ...spec.service, Status: Status.UNKNOWN });
    }
  }

  /** Drain one instance: DRAINING from now on (no new requests), until it is removed. */
  drain(id: string): boolean {
    const t = this.tracked.get(id);
    if (t === undefined) return false;
    t.draining = true;
    this.write(t, Status.DRAINING);
    return true;
  }

  /** One round of every check, in parallel. */
  async checkAll(): Promise<void> {
    await Promise.all([...this.tracked.values()].map(async (t) => {
      const s = t.spec.service;
      const ip = s.Ports[0]?.IP ?? '127.0.0.1';
      const result = await runCheck(t.spec.check, expandTemplates(t.spec.check.Args, ip, s.Ports), this.options.timeoutMs);
      if (this.tracked.get(s.ID) === t) this.judge(t, result);
    }));
  }

  start(): void {
    const round = (): void => {
      void this.checkAll().finally(() => {
        if (this.timer !== null) this.timer = setTimeout(round, this.options.intervalMs).unref();
      });
    };
    this.timer = setTimeout(round, 0).unref();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private judge(t: Tracked, r: CheckResult): void {
    if (t.draining) return;
    const verdict = r.result === 'healthy' ? Status.ALIVE : r.result === 'failed' ? Status.UNHEALTHY : Status.UNKNOWN;
    // The first result decides at once: a new instance is not made to wait `rise` rounds in UNKNOWN.
    if (!t.decided && verdict !== Status.UNKNOWN) {
      t.decided = true;
      return this.write(t, verdict);
    }
    const agrees = (verdict === Status.ALIVE) === (t.status === Status.ALIVE);
    if (agrees) {
      t.streak = 0;
      if (verdict !== t.status && verdict !== Status.ALIVE) this.write(t, verdict); // UNHEALTHY <-> UNKNOWN
      return;
    }
    t.streak++;
    if (t.streak >= (verdict === Status.ALIVE ? this.options.rise : this.options.fall)) this.write(t, verdict);
  }

  private write(t: Tracked, status: StatusCode): void {
    t.streak = 0;
    if (t.status === status) return;
    t.status = status;
    this.catalog.setLocal({ ...t.spec.service, Status: status });
  }
}
