/**
 * A backend whose answers the cache tests script per path, and the polls they share: the origin
 * counts requests by path and keeps each request's fields, so a test can say how often the
 * backend was asked and with what.
 */
import type http from 'node:http';
import { PathCounts } from './path-counts.js';
import type { ProtocolClient, Reply } from './protocols.js';
import { waitFor } from './wait.js';

export interface Scripted {
  readonly status: number;
  readonly fields: Record<string, string | string[]>;
  readonly body?: string | Buffer;
}

/** What the backend answers for a path, chosen per request; undefined: the script wrote `res` itself. */
export type Script = (req: http.IncomingMessage, res: http.ServerResponse) => Scripted | undefined;

export class ScriptedOrigin {
  readonly scripts = new Map<string, Script>();
  private readonly counts = new PathCounts();
  private readonly asked = new Map<string, http.IncomingHttpHeaders[]>();

  readonly handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const path = this.counts.add(req);
    this.asked.set(path, [...this.requests(path), req.headers]);
    req.resume();
    const script = this.scripts.get(path);
    if (script === undefined) {
      res.writeHead(404).end();
      return;
    }
    const answer = script(req, res);
    if (answer === undefined) return;
    res.writeHead(answer.status, answer.fields).end(answer.status === 304 ? undefined : answer.body ?? '');
  };

  /** Requests that reached the backend for `path`. */
  count(path: string): number {
    return this.counts.of(path);
  }

  /** The fields of each request for `path`, in arrival order. */
  requests(path: string): http.IncomingHttpHeaders[] {
    return this.asked.get(path) ?? [];
  }
}

/** A document with `etag` and Cache-Control `cc` that answers a matching If-None-Match with a 304. */
export function doc(text: string, etag: string, cc: string, extra: Record<string, string> = {}): Script {
  return (req) => req.headers['if-none-match'] === etag
    ? { status: 304, fields: { ETag: etag, 'Cache-Control': cc } }
    : { status: 200, fields: { 'Content-Type': 'text/plain', ETag: etag, 'Cache-Control': cc, ...extra }, body: text };
}

export const cacheStatus = (r: Reply): string => String(r.headers['cache-status'] ?? '');

/** Polls until a request with `cc` (only-if-cached, plus max-stale for stale entries) is answered from the cache. */
export async function untilStored(client: ProtocolClient, path: string, headers: Record<string, string> = {}, cc = 'only-if-cached, max-stale'): Promise<Reply> {
  let last: Reply | undefined;
  // A bypass (the store failed a call on a loaded machine: down until its next probe) is no answer yet.
  await waitFor(async () => {
    last = await client.call({ path, headers: { ...headers, 'cache-control': cc } });
    return last.status !== 504 && !/fwd=bypass/.test(cacheStatus(last));
  }, 30_000, `${path} to be stored`, 50);
  return last!;
}

/** The status of a request that takes the entry however stale, and only from the cache (504: no entry). */
export async function cachedStatus(client: ProtocolClient, path: string, headers: Record<string, string> = {}): Promise<number> {
  return (await client.call({ path, headers: { ...headers, 'cache-control': 'only-if-cached, max-stale' } })).status;
}
