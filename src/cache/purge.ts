/**
 * The admin purge: `POST /v1/cache/purge?url=<absolute URL>` drops one URL (every variant),
 * `?prefix=<absolute URL prefix>` every URL of that host starting with it. Only clients on
 * loopback may ask: a sidecar's admin requests come from its own host.
 */
import type { LocalResponse } from '../proxy/error-response.js';
import type { RequestView } from '../proxy/pipeline.js';
import type { Entries } from './entries.js';
import { entryKeys } from './key.js';

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

/** Runs a purge request against the store; `purging(url)` is told the URL (or URL prefix) before it is dropped. */
export async function purge(req: RequestView, entries: Entries, prefix: string, purging: (url: string) => void): Promise<LocalResponse> {
  const asked = parsePurge(req.method, req.target, req.clientIp);
  if (asked.kind === 'refused') return asked.answer;
  const keys = entryKeys(prefix, asked.url.protocol.slice(0, -1), asked.url.host, `${asked.url.pathname}${asked.url.search}`);
  purging(keys.url);
  try {
    const deleted = asked.kind === 'url' ? await entries.remove(keys) : await entries.removeUrlPrefix(prefix, asked.url.host, keys.url);
    return purgeAnswer(deleted);
  } catch (err) {
    return json(503, { error: `the cache store failed: ${String(err)}` });
  }
}
