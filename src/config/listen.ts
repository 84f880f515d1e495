/** The --address value: where Outrigger itself listens. */
import type { ListenAddress } from './types.js';
import { fail, ok, type Result } from './result.js';
import { parsePort, splitHostPort } from '../sites/host.js';

/**
 * Parses Go-style listen addresses: ":8080" (every interface), "host:8080",
 * "[::1]:8080", "127.0.0.1:0" (0 lets the OS choose a port, which tests rely on).
 */
export function parseListenAddress(text: string): Result<ListenAddress> {
  // Checked first: a bare "8080" is a forgotten colon, not a malformed IPv4 address.
  if (!text.includes(':')) return fail(`${JSON.stringify(text)} has no port (use :8080 or host:8080)`);
  const split = splitHostPort(text.trim());
  if (!split.ok) return split;
  if (split.value.port === undefined) {
    return fail(`${JSON.stringify(text)} has no port (use :8080 or host:8080)`);
  }
  const port = parsePort(split.value.port, 0);
  if (!port.ok) return port;
  return ok({ host: split.value.host, port: port.value });
}
