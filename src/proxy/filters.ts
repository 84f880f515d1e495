/**
 * The filters of the pipeline, sorted once at start into one list per phase, so the hot path
 * only walks the filters that implement a phase (and nothing at all when none does).
 */
import type { ProxyFilter } from './pipeline.js';

export class FilterChain {
  readonly request: readonly ProxyFilter[];
  readonly requestBody: readonly ProxyFilter[];
  readonly responseFields: readonly ProxyFilter[];
  readonly responseHead: readonly ProxyFilter[];
  readonly responseBody: readonly ProxyFilter[];
  readonly failed: readonly ProxyFilter[];
  readonly done: readonly ProxyFilter[];

  constructor(filters: readonly ProxyFilter[]) {
    this.request = filters.filter((f) => f.request !== undefined);
    this.requestBody = filters.filter((f) => f.requestBody !== undefined);
    this.responseFields = filters.filter((f) => f.responseFields !== undefined);
    this.responseHead = filters.filter((f) => f.responseHead !== undefined);
    this.responseBody = filters.filter((f) => f.responseBody !== undefined);
    this.failed = filters.filter((f) => f.failed !== undefined);
    this.done = filters.filter((f) => f.done !== undefined);
  }
}
