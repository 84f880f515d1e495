/** Detects a backend that is Outrigger's own listen address: every request would loop back forever. */
import { hostname as osHostname } from 'node:os';
import type { BackendSpec, ListenAddress } from '../config/types.js';

const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::']);

/** The names a wildcard listener answers to on this machine, without a DNS lookup. */
function localNames(machineName: string): ReadonlySet<string> {
  return new Set(['localhost', '127.0.0.1', '::1', '0.0.0.0', '::', machineName.toLowerCase()]);
}

/** localhost and 127.0.0.1 are the same listener in practice, so they compare equal. */
function sameHost(a: string, b: string): boolean {
  const canonical = (host: string): string => (host === 'localhost' ? '127.0.0.1' : host);
  return canonical(a.toLowerCase()) === canonical(b.toLowerCase());
}

/**
 * True when `backend` would reach Outrigger itself. Port 0 never conflicts: the
 * OS picks a free port, which no configured backend can name in advance.
 * `machineName` is injectable for tests; it defaults to os.hostname().
 */
export function pointsAtSelf(listen: ListenAddress, backend: BackendSpec, machineName = osHostname()): boolean {
  if (listen.port === 0 || backend.port !== listen.port) return false;
  if (WILDCARD_HOSTS.has(listen.host)) return localNames(machineName).has(backend.hostname);
  return sameHost(listen.host, backend.hostname);
}
