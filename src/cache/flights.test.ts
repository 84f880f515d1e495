/** In-process tests of single flight by URL and variant (flights.ts): who leads a fetch and who follows which. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestView } from '../proxy/pipeline.js';
import { Flights, type Joined } from './flights.js';
import type { Flight } from './flight.js';
import { requestFacts } from './policy.js';
import { CacheStats } from './stats.js';
import { variantId } from './vary.js';

const URL = 'http://h/doc';
const VARY = ['accept-encoding'];

/** A GET of URL with these request fields (only header() is read). */
function request(fields: Record<string, string>): RequestView {
  return { method: 'GET', target: '/doc', authority: 'h', header: (name: string) => fields[name] } as unknown as RequestView;
}

function join(flights: Flights, fields: Record<string, string>): Promise<Joined> {
  const req = request(fields);
  return flights.join(req, requestFacts('GET', '/doc', (name) => req.header(name)), URL);
}

/** The leader's response head arrives: it varies on Accept-Encoding and selects the leader's variant. */
function answer(flight: Flight, fields: Record<string, string>): void {
  flight.start({ status: 200, headers: {}, length: 3, vary: VARY, variant: variantId(VARY, (name) => fields[name]) });
}

const lead = (joined: Joined): Flight => {
  assert.ok('lead' in joined, 'leads a fetch');
  return joined.lead;
};

describe('single flight with Vary', () => {
  it('misses for another variant lead one fetch for it, which the rest of that variant follow', async () => {
    const flights = new Flights(1024, new CacheStats());
    const gzip = { 'accept-encoding': 'gzip' };
    const br = { 'accept-encoding': 'br' };
    const first = lead(await join(flights, gzip));
    const asked = [gzip, br, br, br, gzip];
    const settled: Array<Joined | undefined> = asked.map(() => undefined);
    const waiting = asked.map((fields, i) => join(flights, fields).then((j) => (settled[i] = j)));
    answer(first, gzip);
    await new Promise((resolve) => setImmediate(resolve));
    const kinds = (): string[] => settled.map((j) => (j === undefined ? 'waiting' : 'lead' in j ? 'lead' : 'follow'));
    // The br misses woke together on the gzip head: exactly one leads, the others wait for its head.
    assert.deepEqual(kinds().filter((k) => k === 'lead').length, 1, kinds().join());
    assert.deepEqual([kinds()[0], kinds()[4]], ['follow', 'follow'], 'the gzip misses followed the gzip fetch');
    const second = lead(settled.find((j) => j !== undefined && 'lead' in j)!);
    answer(second, br);
    await Promise.all(waiting);
    assert.deepEqual(kinds().filter((k) => k === 'follow').length, 4, 'the other br misses followed the br fetch');
  });

  it('a response not to be shared sends each waiting miss to the backend on its own', async () => {
    const flights = new Flights(1024, new CacheStats());
    const first = lead(await join(flights, {}));
    const waiting = [{}, {}].map((fields) => join(flights, fields));
    first.cancel();
    const joined = await Promise.all(waiting);
    assert.deepEqual(joined.map((j) => 'lead' in j), [true, true]);
  });
});
