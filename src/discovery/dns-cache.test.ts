import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DnsCache, DnsLookupError, type DnsEvent, type ResolvedAddress } from './dns-cache.js';
import { parseDnsServers } from '../config/dns-servers.js';

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

/** A lookup answering from a table; a name mapped to an Error fails with it. */
function fakeDns(): { table: Map<string, ResolvedAddress[] | Error>; calls: string[]; lookup: (name: string) => Promise<ResolvedAddress[]> } {
  const table = new Map<string, ResolvedAddress[] | Error>();
  const calls: string[] = [];
  return {
    table,
    calls,
    lookup: async (name) => {
      calls.push(name);
      const answer = table.get(name) ?? Object.assign(new Error(`queryA ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

/** A schedule the test fires by hand. */
function manualTimers(): { schedule: (fn: () => void, ms: number) => () => void; pending: Array<{ fn: () => void; ms: number }>; fire(): void } {
  const pending: Array<{ fn: () => void; ms: number }> = [];
  return {
    pending,
    schedule: (fn, ms) => {
      const t = { fn, ms };
      pending.push(t);
      return () => { const i = pending.indexOf(t); if (i >= 0) pending.splice(i, 1); };
    },
    fire() {
      const t = pending.shift();
      assert.ok(t !== undefined, 'a refresh is scheduled');
      t.fn();
    },
  };
}

const addressesOf = (picked: readonly ResolvedAddress[] | Error): string[] => {
  assert.ok(!(picked instanceof Error), String(picked));
  return picked.map((a) => a.address);
};

describe('DnsCache', () => {
  it('resolves tracked names and refreshes them every TTL', async () => {
    const dns = fakeDns();
    const timers = manualTimers();
    const changes: string[][] = [];
    const cache = new DnsCache({ lookup: dns.lookup, ttlMs: 200, schedule: timers.schedule, onChange: (n) => changes.push([...n]) });
    dns.table.set('svc.test', [v4('10.0.0.1')]);
    await cache.track(['svc.test']);
    assert.deepEqual(addressesOf(cache.next('svc.test')), ['10.0.0.1']);
    assert.deepEqual(changes, [['svc.test']]);

    cache.start();
    assert.equal(timers.pending.length, 1);
    assert.equal(timers.pending[0]!.ms, 200);
    dns.table.set('svc.test', [v4('10.0.0.2')]);
    timers.fire();
    await waitUntil(() => changes.length === 2);
    assert.deepEqual(addressesOf(cache.next('svc.test')), ['10.0.0.2']);
    // The next refresh is scheduled once this one has finished.
    await waitUntil(() => timers.pending.length === 1);
    cache.stop();
    assert.equal(timers.pending.length, 0);
  });

  it('reports no change when the same set comes back in another order', async () => {
    const dns = fakeDns();
    const changes: string[][] = [];
    const cache = new DnsCache({ lookup: dns.lookup, ttlMs: 1000, schedule: manualTimers().schedule, onChange: (n) => changes.push([...n]) });
    dns.table.set('a', [v4('10.0.0.1'), v4('10.0.0.2')]);
    await cache.track(['a']);
    dns.table.set('a', [v4('10.0.0.2'), v4('10.0.0.1')]);
    await cache.refresh();
    assert.equal(changes.length, 1);
  });

  it('keeps the last good answer when a lookup fails, and says so once per failure streak', async () => {
    const dns = fakeDns();
    const events: DnsEvent[] = [];
    const cache = new DnsCache({ lookup: dns.lookup, ttlMs: 1000, schedule: manualTimers().schedule, onEvent: (e) => events.push(e) });
    dns.table.set('svc.test', [v4('10.0.0.1')]);
    await cache.track(['svc.test']);
    dns.table.set('svc.test', Object.assign(new Error('queryA ESERVFAIL svc.test'), { code: 'ESERVFAIL' }));
    await cache.refresh();
    await cache.refresh();
    assert.deepEqual(addressesOf(cache.next('svc.test')), ['10.0.0.1']);
    assert.match(cache.lastError('svc.test'), /ESERVFAIL/);
    assert.deepEqual(events.map((e) => e.kind), ['changed', 'failed']);
    const failed = events[1]!;
    assert.ok(failed.kind === 'failed');
    assert.deepEqual(failed.kept.map((a) => a.address), ['10.0.0.1']);

    // An empty answer is a failure too, not "no backends".
    dns.table.set('svc.test', []);
    await cache.refresh();
    assert.deepEqual(addressesOf(cache.next('svc.test')), ['10.0.0.1']);

    dns.table.set('svc.test', [v4('10.0.0.1')]);
    await cache.refresh();
    assert.deepEqual(events.map((e) => e.kind), ['changed', 'failed', 'recovered']);
    assert.equal(cache.lastError('svc.test'), '');
  });

  it('asks again soon for a name that has never resolved, not only every TTL', async () => {
    const dns = fakeDns();
    const timers = manualTimers();
    const cache = new DnsCache({ lookup: dns.lookup, ttlMs: 600_000, retryMs: 1000, schedule: timers.schedule });
    dns.table.set('up.test', [v4('10.0.0.1')]);
    await cache.track(['up.test', 'late.test']);
    cache.start();
    assert.deepEqual(timers.pending.map((t) => t.ms).sort((x, y) => x - y), [1000, 600_000]);
    const fireRetry = (): void => {
      const retry = timers.pending.find((t) => t.ms === 1000);
      assert.ok(retry !== undefined, 'a retry is scheduled');
      timers.pending.splice(timers.pending.indexOf(retry), 1);
      retry.fn();
    };
    fireRetry();
    await waitUntil(() => timers.pending.length === 2);
    assert.deepEqual(dns.calls, ['up.test', 'late.test', 'late.test'], 'only the unresolved name is asked');
    dns.table.set('late.test', [v4('10.0.0.2')]);
    fireRetry();
    await waitUntil(() => cache.addresses('late.test').length === 1);
    assert.deepEqual(timers.pending.map((t) => t.ms), [600_000], 'no more retries once every name resolved');
    cache.stop();
    assert.equal(timers.pending.length, 0);
  });

  it('gives a connection error naming the reason while a name has never resolved', async () => {
    const dns = fakeDns();
    const cache = new DnsCache({ lookup: dns.lookup, ttlMs: 1000, schedule: manualTimers().schedule });
    await cache.track(['nowhere.test']);
    const picked = cache.next('nowhere.test');
    assert.ok(picked instanceof DnsLookupError);
    assert.equal(picked.code, 'ENOTFOUND');
    assert.match(picked.message, /nowhere\.test did not resolve: .*ENOTFOUND/);
    assert.ok(cache.next('untracked.test') instanceof Error);
  });

  it('spreads new connections round robin, the other family as a fallback', async () => {
    const dns = fakeDns();
    const cache = new DnsCache({ lookup: dns.lookup, ttlMs: 1000, schedule: manualTimers().schedule });
    dns.table.set('three', [v4('10.0.0.1'), v4('10.0.0.2'), v4('10.0.0.3')]);
    dns.table.set('local', [v6('::1'), v4('127.0.0.1')]);
    await cache.track(['three', 'local']);
    const firsts = Array.from({ length: 6 }, () => addressesOf(cache.next('three')));
    assert.deepEqual(firsts, [['10.0.0.1'], ['10.0.0.2'], ['10.0.0.3'], ['10.0.0.1'], ['10.0.0.2'], ['10.0.0.3']]);
    assert.deepEqual(addressesOf(cache.next('local')), ['::1', '127.0.0.1']);
    assert.deepEqual(addressesOf(cache.next('local')), ['127.0.0.1', '::1']);
  });

  it('drops untracked names and ignores an answer that arrives after its name was dropped', async () => {
    let release: (a: ResolvedAddress[]) => void = () => {};
    const cache = new DnsCache({
      lookup: (name) => (name === 'slow' ? new Promise((r) => { release = r; }) : Promise.resolve([v4('10.0.0.9')])),
      ttlMs: 1000,
      schedule: manualTimers().schedule,
    });
    const first = cache.track(['slow', 'fast']);
    await cache.track(['fast']);
    release([v4('10.0.0.1')]);
    await first;
    assert.deepEqual(cache.addresses('slow'), []);
    assert.deepEqual(addressesOf(cache.next('fast')), ['10.0.0.9']);
  });

  it('joins a lookup already under way instead of asking twice', async () => {
    const dns = fakeDns();
    dns.table.set('a', [v4('10.0.0.1')]);
    const cache = new DnsCache({ lookup: dns.lookup, ttlMs: 1000, schedule: manualTimers().schedule });
    await Promise.all([cache.track(['a']), cache.refresh()]);
    assert.deepEqual(dns.calls, ['a']);
  });
});

describe('--dns-server values', () => {
  it('accepts IPs with an optional port, as a comma list', () => {
    assert.deepEqual(parseDnsServers('127.0.0.1:5353, 10.0.0.1'), { ok: true, value: ['127.0.0.1:5353', '10.0.0.1:53'] });
    assert.deepEqual(parseDnsServers('[::1]:5353'), { ok: true, value: ['[::1]:5353'] });
  });
  it('refuses names, bad ports and empty items', () => {
    assert.equal(parseDnsServers('dns.example:53').ok, false);
    assert.equal(parseDnsServers('127.0.0.1:0').ok, false);
    assert.equal(parseDnsServers('127.0.0.1,').ok, false);
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(check(), 'condition reached');
}
