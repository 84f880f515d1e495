/** Host and port syntax shared by the listen address and backend URLs. */
import { isIPv4 } from 'node:net';
import { fail, ok, type Result } from '../config/result.js';
import { integerIn } from '../config/values.js';

export interface HostPort {
  /** Lower-case host name or IP literal, IPv6 compressed and without brackets; '' when absent. */
  readonly host: string;
  /** The text after the colon, undefined when there is no colon. */
  readonly port: string | undefined;
}

/** One DNS label: letters, digits, '-' inside, and '_' (used by Docker Compose service names). */
const LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
const DNS_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

/** The WHATWG URL parser gives IPv6 its one canonical spelling, so "0:0::1" and "::1" compare equal. */
export function canonicalIPv6(text: string): string | undefined {
  try {
    const hostname = new URL(`http://[${text}]/`).hostname;
    return hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

/**
 * Checks a host outside brackets. All-numeric dotted names must be real IPv4
 * addresses: the system resolver would read "010.0.0.1" as octal, a surprise.
 */
export function checkHostname(text: string): Result<string> {
  const host = text.toLowerCase();
  if (host.includes(':')) return fail(`an IPv6 address must be in brackets, e.g. [${text}]:9000`);
  if (/^[\d.]+$/.test(host)) {
    return isIPv4(host) ? ok(host) : fail(`"${text}" is not a valid IPv4 address`);
  }
  if (host.length > 253 || !DNS_NAME.test(host)) return fail(`"${text}" is not a valid host name`);
  return ok(host);
}

/** Splits "host", "host:port", "[v6]" or "[v6]:port"; the host may be empty (as in ":8080"). */
export function splitHostPort(authority: string): Result<HostPort> {
  if (authority.startsWith('[')) return splitBracketed(authority);
  const colons = authority.split(':').length - 1;
  if (colons > 1) return fail(`an IPv6 address must be in brackets, e.g. [::1]:9000`);
  const colon = authority.indexOf(':');
  const hostText = colon < 0 ? authority : authority.slice(0, colon);
  const port = colon < 0 ? undefined : authority.slice(colon + 1);
  if (hostText === '') return ok({ host: '', port });
  const host = checkHostname(hostText);
  return host.ok ? ok({ host: host.value, port }) : host;
}

function splitBracketed(authority: string): Result<HostPort> {
  const close = authority.indexOf(']');
  if (close < 0) return fail(`"${authority}" has an unclosed "["`);
  const inner = authority.slice(1, close);
  const host = canonicalIPv6(inner);
  if (host === undefined) return fail(`"[${inner}]" is not a valid IPv6 address`);
  const rest = authority.slice(close + 1);
  if (rest === '') return ok({ host, port: undefined });
  if (!rest.startsWith(':')) return fail(`unexpected "${rest}" after "[${inner}]"`);
  return ok({ host, port: rest.slice(1) });
}

/** Parses a port number in min..65535 (0 is a valid listen port: the OS picks one). */
export function parsePort(text: string, min: number): Result<number> {
  if (text === '') return fail('port is empty');
  const port = integerIn(min, 65535)(text);
  return port.ok ? port : fail(`port ${port.reason}`);
}
