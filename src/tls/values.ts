/** Parsers for the TLS options' values (the files themselves are read at start, src/tls/setup.ts). */
import net from 'node:net';
import { fail, ok, type Result } from '../config/result.js';

export type TlsVersionName = '1.2' | '1.3';
export const TLS_VERSIONS: readonly TlsVersionName[] = ['1.2', '1.3'];

/** A file name: taken as given (it may contain spaces), only an empty one is refused. */
export function parseFile(text: string): Result<string> {
  if (text.trim() === '') return fail('needs a file name');
  return ok(text);
}

const DNS_NAME = /^(\*\.)?(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?$/i;

/** "h1,ip2": host names and IP addresses for the generated certificate's SANs, in order, no duplicates. */
export function parseHostList(text: string): Result<readonly string[]> {
  const hosts: string[] = [];
  for (const item of text.split(',')) {
    let host = item.trim();
    if (host === '') continue;
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    if (net.isIP(host) === 0 && (host.length > 253 || !DNS_NAME.test(host))) {
      return fail(`${JSON.stringify(item.trim())} is neither a host name nor an IP address`);
    }
    if (!hosts.includes(host)) hosts.push(host);
  }
  if (hosts.length === 0) return fail('needs at least one host name or IP address (h1,ip2,...)');
  return ok(hosts);
}
