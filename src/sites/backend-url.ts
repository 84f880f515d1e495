/** One backend URL, as written in a SITE after ellipsis expansion. */
import type { BackendSpec } from '../config/types.js';
import { fail, ok, type Result } from '../config/result.js';
import { parsePort, splitHostPort } from './host.js';

const DEFAULT_PORT = { http: 80, https: 443 } as const;
type Scheme = keyof typeof DEFAULT_PORT;

/**
 * Parses and normalises a backend: lower-case scheme and host, default port
 * omitted, IPv6 bracketed, no trailing slash. The URL is split by hand, not with
 * WHATWG URL, for two reasons: "minio1:9000" would parse as scheme "minio1", and
 * each mistake deserves its own message rather than "Invalid URL".
 */
export function parseBackendUrl(text: string): Result<BackendSpec> {
  const withScheme = text.includes('://') ? text : `http://${text}`;
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/is.exec(withScheme);
  if (match === null) return fail('the scheme before "://" is missing or malformed');
  const scheme = (match[1] ?? '').toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return fail(`scheme "${scheme}" is not supported (use http or https)`);
  const rest = match[2] ?? '';
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const tail = authorityEnd < 0 ? '' : rest.slice(authorityEnd);
  const problem = tailProblem(authority, tail);
  if (problem !== undefined) return fail(problem);
  const hostPort = splitHostPort(authority);
  if (!hostPort.ok) return hostPort;
  if (hostPort.value.host === '') return fail('a host is required');
  const port = hostPort.value.port === undefined ? ok(DEFAULT_PORT[scheme]) : parsePort(hostPort.value.port, 1);
  if (!port.ok) return port;
  return ok(build(scheme, hostPort.value.host, port.value, tail.replace(/\/+$/, '')));
}

/** The parts a backend URL must not have; undefined when there is none. */
function tailProblem(authority: string, tail: string): string | undefined {
  if (authority.includes('@')) return 'user info ("user:password@") is not allowed';
  if (tail.includes('?')) return 'a query ("?...") is not allowed';
  if (tail.includes('#')) return 'a fragment ("#...") is not allowed';
  if (/[\s\u0000-\u001f\u007f]/.test(tail)) return 'the path must not contain spaces or control characters';
  return undefined;
}

function build(scheme: Scheme, hostname: string, port: number, basePath: string): BackendSpec {
  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  const portPart = port === DEFAULT_PORT[scheme] ? '' : `:${port}`;
  return { url: `${scheme}://${host}${portPart}${basePath}`, protocol: `${scheme}:`, hostname, port, basePath };
}
