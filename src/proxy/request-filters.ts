/**
 * Phase 2: the request filters, in order, until one answers (Outrigger's own endpoints, the
 * cache, limits). A filter may decide later (a promise: a store lookup); the run goes on from
 * the next filter once it settles, unless its request is over by then.
 */
import { ProxyError } from './errors.js';
import type { FilterChain } from './filters.js';
import type { Answer } from './pipeline.js';
import type { ProxyRequest } from './request.js';

/** What a run reports to its forwarder. */
export interface FilterRunOwner {
  /** The request in progress (null between requests): a late decision about another one is dropped. */
  readonly req: ProxyRequest | null;
  /** A filter answered (req.answeredBy says which). */
  filterAnswered(a: Answer): void;
  /** A filter's promise failed. */
  filterFailed(err: ProxyError): void;
  /** No filter answered: the request goes to a backend. */
  filtersPassed(): void;
}

export class RequestFilterRun {
  private readonly chain: FilterChain;
  private readonly owner: FilterRunOwner;

  constructor(chain: FilterChain, owner: FilterRunOwner) {
    this.chain = chain;
    this.owner = owner;
  }

  /** Runs the filters from index `from` on. */
  run(req: ProxyRequest, from = 0): void {
    const filters = this.chain.request;
    for (let i = from; i < filters.length; i++) {
      const r = filters[i]!.request!(req, req);
      if (r === null) continue;
      if (r instanceof Promise) {
        r.then((a) => this.decided(req, i, a), (err: unknown) => this.failed(req, i, err));
        return;
      }
      req.answeredBy = filters[i]!;
      this.owner.filterAnswered(r);
      return;
    }
    this.owner.filtersPassed();
  }

  /** The request a late decision is about is still in progress and unanswered. */
  private stillWanted(req: ProxyRequest): boolean {
    return req === this.owner.req && !req.responded;
  }

  private decided(req: ProxyRequest, at: number, a: Answer | null): void {
    if (!this.stillWanted(req)) return;
    if (a === null) return this.run(req, at + 1);
    req.answeredBy = this.chain.request[at]!;
    this.owner.filterAnswered(a);
  }

  private failed(req: ProxyRequest, at: number, err: unknown): void {
    if (!this.stillWanted(req)) return;
    this.owner.filterFailed(new ProxyError('INTERNAL', `filter ${this.chain.request[at]!.name} failed: ${String(err)}`));
  }
}
