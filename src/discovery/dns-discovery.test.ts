import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SiteSpec } from '../config/types.js';
import { UpstreamSet } from '../upstream/upstream-set.js';
import { Membership } from '../upstream/membership.js';
import type { BackendSource, EmitSites } from '../upstream/sources.js';
import type { ResolvedAddress } from './dns-cache.js';
import { DnsDiscovery, hostNames, pinned } from './dns-discovery.js';
import { parseSites } from '../sites/parse.js';

const options = { healthPath: '/health', readHealthPath: '/health', healthPort: 0, insecure: false, hostBalance: 'round-robin' as const };
const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });

function sitesOf(...args: string[]): SiteSpec[] {
  const parsed = parseSites(args, { host: '127.0.0.1', port: 1 });
  assert.deepEqual(parsed.errors, []);
  return parsed.sites;
}

/** A source the test drives by hand. */
class HandSource implements BackendSource {
  readonly name = 'hand';
  emit: EmitSites = () => {};
  constructor(private sites: SiteSpec[]) {}
  start(emit: EmitSites): void { this.emit = emit; emit(this.sites); }
  set(sites: SiteSpec[]): void { this.sites = sites; this.emit(sites); }
  reload(): void {}
  stop(): void {}
}

/** Membership over a source and DNS on a mutable table, the refresh timer never firing (tests call refresh()). */
function setup(args: string[], table: Map<string, ResolvedAddress[]>) {
  const logs: string[] = [];
  const asked: string[] = [];
  const dns = new DnsDiscovery({
    ttlMs: 1000, schedule: () => () => {}, log: (m) => logs.push(m),
    lookup: async (name) => {
      asked.push(name);
      const a = table.get(name);
      if (a === undefined) throw Object.assign(new Error(`queryA ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      return a;
    },
  });
  const upstreams = new UpstreamSet([], { ...options, addresses: dns.cache });
  const membership = new Membership(upstreams, dns, 1000);
  const source = new HandSource(sitesOf(...args));
  membership.add(source);
  dns.onChange(() => void membership.apply());
  dns.follow(upstreams);
  const replaced: Array<{ added: string[]; removed: string[] }> = [];
  upstreams.onMembership(({ added, removed }) => replaced.push({ added: added.map((b) => b.url), removed: removed.map((b) => b.url) }));
  return { dns, upstreams, membership, source, logs, replaced, asked };
}

const urls = (u: UpstreamSet): string[] => u.backends().map((b) => b.url);
const addressesOf = (dns: DnsDiscovery): string[] => dns.cache.addresses('pod.test').map((a) => a.address);

describe('DnsDiscovery', () => {
  it('lists the host names to resolve, never IP literals', () => {
    assert.deepEqual(hostNames(sitesOf('http://a.test:9000,http://10.0.0.1:9000', 'http://[::1]:9000,http://b.test')), ['a.test', 'b.test']);
  });

  it('pins a backend to its address: the URL shows it, the host name stays', () => {
    const [spec] = sitesOf('https://svc.test:9000/base')[0]!.backends;
    assert.deepEqual(pinned(spec!, v4('10.0.0.5')), {
      url: 'https://10.0.0.5:9000/base', protocol: 'https:', hostname: 'svc.test', port: 9000, basePath: '/base', address: '10.0.0.5',
    });
    assert.equal(pinned(spec!, { address: 'fd00::5', family: 6 }).url, 'https://[fd00::5]:9000/base');
    const [plain] = sitesOf('http://svc.test')[0]!.backends;
    assert.equal(pinned(plain!, v4('10.0.0.5')).url, 'http://10.0.0.5');
  });

  // Issue 13.2: one name with two addresses, one dead, gave ~100% 502s (one backend for both).
  it('a name with at most one address per family stays one backend under its name', async () => {
    const table = new Map([['pod.test', [v4('10.0.0.1')]], ['localhost', [v4('127.0.0.1'), { address: '::1', family: 6 as const }]]]);
    const { dns, upstreams, membership } = setup(['http://pod.test:9000,http://localhost:9000'], table);
    await membership.start();
    assert.deepEqual(urls(upstreams), ['http://pod.test:9000', 'http://localhost:9000']);
    dns.stop();
  });

  it('a name with several addresses becomes one backend per address, following the answer; survivors keep their object and state', async () => {
    const table = new Map([['svc.test', [v4('10.0.0.1'), v4('10.0.0.2')]], ['other.test', [v4('10.0.1.1')]]]);
    const { dns, upstreams, membership, replaced } = setup(['http://svc.test:9000', 'http://other.test:9000,http://10.9.9.9:9000'], table);
    await membership.start();
    assert.deepEqual(urls(upstreams), ['http://10.0.0.1:9000', 'http://10.0.0.2:9000', 'http://other.test:9000', 'http://10.9.9.9:9000']);
    replaced.length = 0;
    const [b1, b2] = upstreams.backends();
    upstreams.probeResult(b1!, false, 'ECONNREFUSED', 1, 1);
    upstreams.probeResult(b2!, true, '', 1, 1);
    assert.deepEqual(upstreams.sites[0]!.ready, [b2], 'the dead address is not chosen, the live one is');
    b2!.stats.requests = 7;

    table.set('svc.test', [v4('10.0.0.2'), v4('10.0.0.3')]);
    await dns.refresh();
    await membership.apply();
    assert.deepEqual(replaced, [{ added: ['http://10.0.0.3:9000'], removed: ['http://10.0.0.1:9000'] }]);
    const survivor = upstreams.backends().find((b) => b.url === 'http://10.0.0.2:9000');
    assert.equal(survivor, b2);
    assert.equal(survivor!.online, true);
    assert.equal(survivor!.stats.requests, 7);

    // A failed lookup keeps the last good set.
    table.delete('svc.test');
    await dns.refresh();
    await membership.apply();
    assert.equal(replaced.length, 1);
    assert.equal(upstreams.backends().length, 4);
    dns.stop();
  });

  it('a name that does not resolve leaves its backend in place, failing to connect with the reason', async () => {
    const { dns, upstreams, membership, logs } = setup(['http://nowhere.test:9000'], new Map());
    await membership.start();
    const [b] = upstreams.backends();
    const err = await new Promise<Error | null>((resolve) => b!.lookup!('nowhere.test', {}, (e) => resolve(e)));
    assert.match(String(err), /nowhere\.test did not resolve: .*ENOTFOUND/);
    assert.deepEqual(logs, ['dns: nowhere.test did not resolve (queryA ENOTFOUND nowhere.test); its backends stay down until it does']);
    dns.stop();
  });

  it('a source\'s new names are looked up before the set is swapped', async () => {
    const table = new Map([['a.test', [v4('10.0.0.1')]], ['b.test', [v4('10.0.0.2')]]]);
    const { dns, upstreams, membership, source } = setup(['http://a.test:9000'], table);
    await membership.start();
    table.set('b.test', [v4('10.0.0.2'), v4('10.0.0.3')]);
    source.set(sitesOf('http://a.test:9000', 'http://b.test:9000'));
    await membership.apply();
    assert.deepEqual(urls(upstreams), ['http://a.test:9000', 'http://10.0.0.2:9000', 'http://10.0.0.3:9000']);
    dns.stop();
  });

  // Issue 13.1: a name that moved was not looked up again before --dns-ttl (10 min by default).
  it('a failed probe of an address makes its name be looked up again, at most once a second', async () => {
    const table = new Map([['pod.test', [v4('10.0.0.1')]]]);
    const { dns, upstreams, membership, asked } = setup(['http://pod.test:9000'], table);
    await membership.start();
    assert.deepEqual(asked, ['pod.test']);
    table.set('pod.test', [v4('10.0.0.7')]);
    const [old] = upstreams.backends();
    // The first lookup was just now: the rate limit holds this one back.
    upstreams.probeResult(old!, false, 'ECONNREFUSED', 1, 1);
    assert.equal(asked.length, 1);
    await new Promise((r) => setTimeout(r, 1_050));
    upstreams.probeResult(old!, false, 'ECONNREFUSED', 1, 1);
    upstreams.requestFailed(old!, 'ECONNREFUSED');
    assert.equal(asked.length, 2, 'one lookup for both failures');
    const deadline = Date.now() + 5_000;
    while (addressesOf(dns)[0] !== '10.0.0.7' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(upstreams.backends()[0], old, 'a one-address name keeps its backend');
    assert.deepEqual(addressesOf(dns), ['10.0.0.7']);
    dns.stop();
  });
});

describe('Membership', () => {
  it('merges sources per site: a URL listed twice stays where it was first, each backend knows its source', async () => {
    const upstreams = new UpstreamSet([], options);
    const membership = new Membership(upstreams, null, 1000);
    const a = new HandSource(sitesOf('http://10.0.0.1:1,http://10.0.0.2:1'));
    const b = Object.assign(new HandSource(sitesOf('http://10.0.0.3:1', 'http://10.0.0.2:1,http://10.0.0.4:1')), { name: 'file' });
    membership.add(a);
    membership.add(b);
    await membership.start();
    assert.deepEqual(upstreams.sites.map((s) => s.backends.map((x) => `${x.url} ${x.spec.origin}`)), [
      ['http://10.0.0.1:1 hand', 'http://10.0.0.2:1 hand', 'http://10.0.0.3:1 file'],
      ['http://10.0.0.4:1 file'],
    ]);
    b.set([]);
    await membership.apply();
    assert.deepEqual(urls(upstreams), ['http://10.0.0.1:1', 'http://10.0.0.2:1']);
  });

  it('make before break: a ready backend replaced by a new one serves until the new one has been probed', async () => {
    const upstreams = new UpstreamSet([], options);
    const membership = new Membership(upstreams, null, 5_000);
    const source = new HandSource(sitesOf('http://10.0.0.1:1'));
    membership.add(source);
    await membership.start();
    const [old] = upstreams.backends();
    upstreams.probeResult(old!, true, '', 1, 1);
    source.set(sitesOf('http://10.0.0.2:1'));
    const applied = membership.apply();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(urls(upstreams), ['http://10.0.0.2:1', 'http://10.0.0.1:1'], 'both while the new one is unknown');
    assert.equal(upstreams.pick(null), old);
    upstreams.probeResult(upstreams.backends()[0]!, true, '', 1, 1);
    await applied;
    assert.deepEqual(urls(upstreams), ['http://10.0.0.2:1']);
  });
});
