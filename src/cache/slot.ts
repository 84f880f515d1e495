/**
 * The cache's place in the filter chain, fixed when the chain is built (at start, synchronously)
 * and filled once the cache module has been loaded (a dynamic import). Until then, and when the
 * cache is off, every phase lets the request pass as if there were no cache.
 */
import type { Answer, BodyTap, Outcome, ProxyFilter, RequestEdit, RequestView, ResponseView, TapFlow } from '../proxy/pipeline.js';
import type { ProxyError } from '../proxy/errors.js';
import type { Backend } from '../upstream/backend.js';

/** The phases the cache implements. */
export type CachePhases = Required<Pick<ProxyFilter, 'request' | 'responseHead' | 'responseFields' | 'responseBody' | 'failed' | 'done'>>;

export class CacheSlot implements ProxyFilter {
  readonly name = 'cache';
  inner: CachePhases | null = null;

  request(req: RequestView, edit: RequestEdit): Answer | null | Promise<Answer | null> {
    return this.inner === null ? null : this.inner.request(req, edit);
  }

  responseHead(req: RequestView, head: ResponseView): Answer | null {
    return this.inner === null ? null : this.inner.responseHead(req, head);
  }

  responseFields(req: RequestView, backend: Backend): readonly string[] | null {
    return this.inner === null ? null : this.inner.responseFields(req, backend);
  }

  responseBody(req: RequestView, head: ResponseView, flow: TapFlow): BodyTap | null {
    return this.inner === null ? null : this.inner.responseBody(req, head, flow);
  }

  failed(req: RequestView, err: ProxyError): Answer | null {
    return this.inner === null ? null : this.inner.failed(req, err);
  }

  done(req: RequestView, outcome: Outcome): void {
    this.inner?.done(req, outcome);
  }
}
