/** --dns-server values (the resolver itself is src/discovery/lookup.ts). */
import net from 'node:net';
import { fail, ok, type Result } from './result.js';
import { parsePort, splitHostPort } from '../sites/host.js';

/**
 * One --dns-server value: a comma-separated list of "ip", "ip:port", "[ipv6]" or "[ipv6]:port"
 * (port 53 when absent), normalised to what dns.Resolver.setServers takes. Names are refused: the
 * resolver would need a resolver to find its servers.
 */
export function parseDnsServers(text: string): Result<readonly string[]> {
  const out: string[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') return fail(`${JSON.stringify(text)} has an empty server (a stray comma?)`);
    const split = splitHostPort(item);
    if (!split.ok) return fail(`${JSON.stringify(item)}: ${split.reason}`);
    const host = split.value.host;
    if (net.isIP(host) === 0) return fail(`${JSON.stringify(item)} is not an IP address (with an optional :port)`);
    const port = split.value.port === undefined ? ok(53) : parsePort(split.value.port, 1);
    if (!port.ok) return fail(`${JSON.stringify(item)}: ${port.reason}`);
    out.push(net.isIPv6(host) ? `[${host}]:${port.value}` : `${host}:${port.value}`);
  }
  return ok(out);
}
