import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SiteSpec } from '../config/types.js';
import { UpstreamSet } from '../upstream/upstream-set.js';
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

/** A discovery over a mutable table, its refresh timer never firing (tests call cache.refresh()). */
function setup(rrDnsMode: boolean, args: string[], table: Map<string, ResolvedAddress[]>) {
  const logs: string[] = [];
  const dns = new DnsDiscovery(sitesOf(...args), {
    rrDnsMode, ttlMs: 1000, schedule: () => () => {}, log: (m) => logs.push(m),
    lookup: async (name) => {
      const a = table.get(name);
      if (a === undefined) throw Object.assign(new Error(`queryA ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      return a;
    },
  });
  const upstreams = new UpstreamSet(dns.sites(), { ...options, addresses: dns.cache });
  const replaced: Array<{ added: string[]; removed: string[] }> = [];
  dns.follow(upstreams);
  upstreams.onMembership(({ added, removed }) => replaced.push({ added: added.map((b) => b.url), removed: removed.map((b) => b.url) }));
  return { dns, upstreams, logs, replaced };
}

describe('DnsDiscovery', () => {
  it('lists the host names to resolve, never IP literals', () => {
    assert.deepEqual(hostNames(sitesOf('http://a.test:9000,http://10.0.0.1:9000', 'http://[::1]:9000,http://b.test')), ['a.test', 'b.test']);
  });

  it('pins an rr-dns backend to its address: the URL shows it, the host name stays', () => {
    const [spec] = sitesOf('https://svc.test:9000/base')[0]!.backends;
    assert.deepEqual(pinned(spec!, v4('10.0.0.5')), {
      url: 'https://10.0.0.5:9000/base', protocol: 'https:', hostname: 'svc.test', port: 9000, basePath: '/base', address: '10.0.0.5',
    });
    assert.equal(pinned(spec!, { address: 'fd00::5', family: 6 }).url, 'https://[fd00::5]:9000/base');
    const [plain] = sitesOf('http://svc.test')[0]!.backends;
    assert.equal(pinned(plain!, v4('10.0.0.5')).url, 'http://10.0.0.5');
  });

  it('without rr-dns-mode keeps one backend per name', async () => {
    const table = new Map([['svc.test', [v4('10.0.0.1'), v4('10.0.0.2')]]]);
    const { dns, upstreams } = setup(false, ['http://svc.test:9000'], table);
    await dns.start(1000);
    assert.deepEqual(upstreams.backends().map((b) => b.url), ['http://svc.test:9000']);
    dns.stop();
  });

  it('rr-dns-mode: one backend per address, following the answer; survivors keep their object and state', async () => {
    const table = new Map([['svc.test', [v4('10.0.0.1'), v4('10.0.0.2')]]]);
    const { dns, upstreams, replaced } = setup(true, ['http://svc.test:9000', 'http://other.test:9000,http://x.test:9000'], table);
    // Before the first answer the site holds the name itself (down, with the DNS reason).
    assert.deepEqual(upstreams.backends().map((b) => b.url), ['http://svc.test:9000', 'http://other.test:9000', 'http://x.test:9000']);
    await dns.start(1000);
    assert.deepEqual(upstreams.backends().map((b) => b.url), ['http://10.0.0.1:9000', 'http://10.0.0.2:9000', 'http://other.test:9000', 'http://x.test:9000']);
    replaced.length = 0;
    const [b1, b2] = upstreams.backends();
    upstreams.probeResult(b1!, true, '', 1, 1);
    upstreams.probeResult(b2!, true, '', 1, 1);
    b2!.stats.requests = 7;

    table.set('svc.test', [v4('10.0.0.2'), v4('10.0.0.3')]);
    await dns.cache.refresh();
    assert.deepEqual(replaced, [{ added: ['http://10.0.0.3:9000'], removed: ['http://10.0.0.1:9000'] }]);
    const survivor = upstreams.backends().find((b) => b.url === 'http://10.0.0.2:9000');
    assert.equal(survivor, b2);
    assert.equal(survivor!.online, true);
    assert.equal(survivor!.stats.requests, 7);

    // A failed lookup keeps the last good set.
    table.delete('svc.test');
    await dns.cache.refresh();
    assert.equal(replaced.length, 1);
    assert.equal(upstreams.backends().length, 4);
    dns.stop();
  });

  it('a name that does not resolve at start leaves its backend in place, failing to connect with the reason', async () => {
    const { dns, upstreams, logs } = setup(false, ['http://nowhere.test:9000'], new Map());
    await dns.start(1000);
    const [b] = upstreams.backends();
    const err = await new Promise<Error | null>((resolve) => b!.lookup!('nowhere.test', {}, (e) => resolve(e)));
    assert.match(String(err), /nowhere\.test did not resolve: .*ENOTFOUND/);
    assert.deepEqual(logs, ['dns: nowhere.test did not resolve (queryA ENOTFOUND nowhere.test); its backends stay down until it does']);
    dns.stop();
  });

  it('a reload looks new names up before swapping the backends in', async () => {
    const table = new Map([['a.test', [v4('10.0.0.1')]], ['b.test', [v4('10.0.0.2')]]]);
    const { dns, upstreams } = setup(true, ['http://a.test:9000'], table);
    await dns.start(1000);
    const change = await dns.reload(sitesOf('http://a.test:9000', 'http://b.test:9000'));
    assert.deepEqual(change.added.map((b) => b.url), ['http://10.0.0.2:9000']);
    assert.deepEqual(upstreams.backends().map((b) => b.url), ['http://10.0.0.1:9000', 'http://10.0.0.2:9000']);
    dns.stop();
  });
});
