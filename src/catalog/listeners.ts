import http from 'node:http';
import type { Catalog } from './catalog.js';
import type { CatalogChange } from './state.js';

export interface ListenerOptions {
  readonly attempts: number;
  readonly timeoutMs: number;
  /** Wait before attempt n+1: backoffMs × n. */
  readonly backoffMs: number;
}

export const LISTENER_DEFAULTS: ListenerOptions = { attempts: 5, timeoutMs: 3_000, backoffMs: 500 };

/**
 * Sidecar's URL listeners (LISTENERS_URLS, and the local services that subscribe by port): every
 * change is POSTed to each URL as
 * `{"State": <state.json>, "ChangeEvent": {"Service", "PreviousStatus", "Time"}}`, in order per URL,
 * retried on failure. Each attempt sends the whole body (Sidecar reused a drained buffer, so its
 * retries were empty).
 */
export class UrlListeners {
  private readonly chains: Map<string, Promise<void>>;
  private readonly fixed: ReadonlySet<string>;
  private stopSubscription: (() => void) | null = null;

  constructor(private readonly catalog: Catalog, urls: readonly string[], private readonly options: ListenerOptions = LISTENER_DEFAULTS,
    private readonly log: (message: string) => void = () => {}) {
    this.fixed = new Set(urls);
    this.chains = new Map(urls.map((u) => [u, Promise.resolve()]));
  }

  /**
   * The listeners local services ask for (they come and go with their services): a new one gets
   * the changes from now on; a removed one gets no new change (a POST under way finishes).
   */
  follow(urls: readonly string[]): void {
    const wanted = new Set(urls);
    for (const url of [...this.chains.keys()]) if (!this.fixed.has(url) && !wanted.has(url)) this.chains.delete(url);
    for (const url of wanted) if (!this.chains.has(url)) this.chains.set(url, Promise.resolve());
  }

  start(): void {
    this.stopSubscription = this.catalog.subscribe((c) => this.notify(c));
  }

  stop(): void {
    this.stopSubscription?.();
  }

  /** Resolves once every POST queued so far has finished (for tests and shutdown). */
  async idle(): Promise<void> {
    await Promise.all(this.chains.values());
  }

  private notify(c: CatalogChange): void {
    const body = Buffer.from(JSON.stringify({
      State: this.catalog.stateDocument(),
      ChangeEvent: { Service: c.service, PreviousStatus: c.previousStatus ?? c.service.Status, Time: new Date(c.time).toISOString() },
    }));
    for (const [url, chain] of this.chains) this.chains.set(url, chain.then(() => this.deliver(url, body)));
  }

  private async deliver(url: string, body: Buffer): Promise<void> {
    let last = '';
    for (let attempt = 1; attempt <= this.options.attempts; attempt++) {
      last = await post(url, body, this.options.timeoutMs);
      if (last === '') return;
      if (attempt < this.options.attempts) await new Promise((r) => setTimeout(r, this.options.backoffMs * attempt));
    }
    this.log(`listener ${url}: gave up after ${this.options.attempts} attempts: ${last}`);
  }
}

/** '' on a 2xx answer, else why not. */
function post(url: string, body: Buffer, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    let req: http.ClientRequest;
    try {
      req = http.request(url, {
        method: 'POST', agent: false, timeout: timeoutMs,
        headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
      }, (res) => {
        res.resume();
        const s = res.statusCode ?? 0;
        resolve(s >= 200 && s < 300 ? '' : `status ${s}`);
      });
    } catch (err) {
      resolve((err as Error).message);
      return;
    }
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', (err) => resolve(err.message));
    req.end(body);
  });
}
