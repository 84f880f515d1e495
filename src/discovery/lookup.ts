/** The two ways a backend name becomes addresses: the system resolver, or chosen DNS servers (--dns-server). */
import dns from 'node:dns';
import type { LookupAll, ResolvedAddress } from './dns-cache.js';

/** getaddrinfo, as every other program on the host resolves (so /etc/hosts and nsswitch apply). */
export const systemLookup: LookupAll = async (name) => {
  const answer = await dns.promises.lookup(name, { all: true, order: 'ipv4first' });
  return answer.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** Per-query timeout and tries for --dns-server: a dead server must not stall the first health round for long. */
const QUERY_TIMEOUT_MS = 2_000;
const QUERY_TRIES = 2;

/**
 * A/AAAA queries sent to the given servers ("ip:port"), bypassing the system resolver. The name is
 * taken as fully qualified (no search domains). IPv4 addresses come first; one family failing is
 * fine when the other answers.
 */
export function serversLookup(servers: readonly string[]): LookupAll {
  const resolver = new dns.promises.Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });
  resolver.setServers([...servers]);
  return async (name) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(name, { ttl: true }), resolver.resolve6(name, { ttl: true })]);
    const out: ResolvedAddress[] = [];
    // The record TTLs let the cache ask again sooner than --dns-ttl (DnsCache.period).
    if (v4.status === 'fulfilled') out.push(...v4.value.map((r) => ({ address: r.address, family: 4 as const, ttlMs: r.ttl * 1000 })));
    if (v6.status === 'fulfilled') out.push(...v6.value.map((r) => ({ address: r.address, family: 6 as const, ttlMs: r.ttl * 1000 })));
    if (out.length > 0) return out;
    // Both failed (or answered nothing): the IPv4 reason is the telling one (NXDOMAIN, SERVFAIL, timeout).
    if (v4.status === 'rejected') throw v4.reason;
    if (v6.status === 'rejected') throw v6.reason;
    return out;
  };
}

export function lookupFor(servers: readonly string[]): LookupAll {
  return servers.length === 0 ? systemLookup : serversLookup(servers);
}
