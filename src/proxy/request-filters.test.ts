import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FilterChain } from './filters.js';
import { plainResponse } from './error-response.js';
import type { ProxyError } from './errors.js';
import type { Answer, ProxyFilter } from './pipeline.js';
import { ProxyRequest } from './request.js';
import { RequestFilterRun, type FilterRunOwner } from './request-filters.js';
import { deferred } from '../../test/support/flow.js';

function request(): ProxyRequest {
  return new ProxyRequest({
    protocol: 'http/1.1', method: 'GET', target: '/k', authority: 'a', clientIp: '127.0.0.1', hasBody: false, headerBlock: '', hostMissing: false, versionMinor: 1,
  });
}

/** A forwarder as the run sees it: records what it was told. */
class Heard implements FilterRunOwner {
  req: ProxyRequest | null = null;
  readonly events: string[] = [];
  filterAnswered(a: Answer): void { this.events.push(`answered ${a.status} by ${this.req?.answeredBy?.name}`); }
  filterFailed(err: ProxyError): void { this.events.push(`failed ${err.code}: ${err.message}`); }
  filtersPassed(): void { this.events.push('passed'); }
}


test('filters run in order until one answers; none answering passes the request on', () => {
  const seen: string[] = [];
  const chain = new FilterChain([
    { name: 'a', request: () => { seen.push('a'); return null; } },
    { name: 'b', request: (req) => { seen.push('b'); return req.target === '/k' ? plainResponse(204, '') : null; } },
    { name: 'c', request: () => { seen.push('c'); return null; } },
  ]);
  const owner = new Heard();
  owner.req = request();
  new RequestFilterRun(chain, owner).run(owner.req);
  assert.deepEqual(seen, ['a', 'b']);
  assert.deepEqual(owner.events, ['answered 204 by b']);

  const none = new Heard();
  none.req = request();
  new RequestFilterRun(new FilterChain([{ name: 'a', request: () => null }]), none).run(none.req);
  assert.deepEqual(none.events, ['passed']);
});

test('a filter deciding later: null goes on with the next filter, a failure is an INTERNAL error naming it', async () => {
  const lookup = deferred<Answer | null>();
  const chain = new FilterChain([
    { name: 'store', request: () => lookup.promise },
    { name: 'local', request: () => plainResponse(200, 'ok') },
  ]);
  const owner = new Heard();
  owner.req = request();
  new RequestFilterRun(chain, owner).run(owner.req);
  assert.deepEqual(owner.events, []);
  lookup.resolve(null);
  await lookup.promise;
  await Promise.resolve();
  assert.deepEqual(owner.events, ['answered 200 by local']);

  const broken = deferred<Answer | null>();
  const failing = new Heard();
  failing.req = request();
  new RequestFilterRun(new FilterChain([{ name: 'store', request: () => broken.promise } satisfies ProxyFilter]), failing).run(failing.req);
  broken.reject(new Error('boom'));
  await broken.promise.catch(() => {});
  await Promise.resolve();
  assert.deepEqual(failing.events, ['failed INTERNAL: filter store failed: Error: boom']);
});

test('a late decision about a request that is over is dropped, even when the next request is in progress', async () => {
  const lookup = deferred<Answer | null>();
  const owner = new Heard();
  const run = new RequestFilterRun(new FilterChain([{ name: 'store', request: () => lookup.promise }]), owner);
  owner.req = request();
  run.run(owner.req);
  // The client left; the same forwarder took the next request, whose own filters are pending too.
  owner.req = request();
  lookup.resolve(plainResponse(200, 'for the first request'));
  await lookup.promise;
  await Promise.resolve();
  assert.deepEqual(owner.events, []);
});
