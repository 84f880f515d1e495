/**
 * The admin purge: `POST /v1/cache/purge?url=<absolute URL>` drops one URL (every variant),
 * `?prefix=<absolute URL prefix>` every URL of that host starting with it. Only clients on
 * loopback may ask: a sidecar's admin requests come from its own host.
 */
import type { LocalResponse } from '../proxy/error-response.js';

export const PURGE_PATH = '/v1/cache/purge';

export type PurgeRequest =
  | { readonly kind: 'url' | 'prefix'; readonly url: URL }
  | { readonly kind: 'refused'; readonly answer: LocalResponse };

function json(status: number, value: unknown): LocalResponse {
  return { status, headers: { 'Content-Type': 'application/json' }, body: `${JSON.stringify(value)}\n` };
}

export function purgeAnswer(deleted: number): LocalResponse {
  return json(200, { deleted });
}

export function isPurgePath(target: string): boolean {
  return target === PURGE_PATH || target.startsWith(`${PURGE_PATH}?`);
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}

export function parsePurge(method: string, target: string, clientIp: string): PurgeRequest {
  if (!isLoopback(clientIp)) return { kind: 'refused', answer: json(403, { error: 'purge is allowed from loopback only' }) };
  if (method !== 'POST' && method !== 'PURGE') return { kind: 'refused', answer: json(405, { error: 'use POST' }) };
  const query = new URLSearchParams(target.slice(PURGE_PATH.length + 1));
  const given = query.get('url') ?? query.get('prefix');
  let url: URL | undefined;
  try {
    url = given === null ? undefined : new URL(given);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return { kind: 'refused', answer: json(400, { error: 'give url=<absolute http(s) URL> or prefix=<absolute URL prefix>' }) };
  }
  return { kind: query.has('url') ? 'url' : 'prefix', url };
}
