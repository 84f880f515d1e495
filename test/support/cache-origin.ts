/**
 * The backend of the cache's CLI test files (cache.test, cache-failures.test): objects of any
 * size, sent whole, chunked, slowly or broken off, and versioned documents that answer
 * conditional requests, with a count of the requests for each path.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';

const MiB = 1024 * 1024;

/** Bodies by size, made once per run. */
const bodies = new Map<number, Buffer>();
export function bodyOf(size: number): Buffer {
  let body = bodies.get(size);
  if (body === undefined) bodies.set(size, body = randomBytes(size));
  return body;
}

/** Per-path counters and document versions of the backend. */
const fetches = new Map<string, number>();
const versions = new Map<string, number>();
/** Requests for `path` (without its query) that reached the backend. */
export const count = (path: string): number => fetches.get(path) ?? 0;

/**
 * /obj/<size>?cc=...   a body of <size> random bytes with that Cache-Control and a strong ETag
 * /chunked/<size>      the same without Content-Length
 * /slow/<size>         the same, sent in 16 pieces over ~0.5 s (concurrent misses overlap it)
 * /paced/<size>        the same, 1 MiB every 40 ms: a backend no faster than the store takes a fill
 * /broken/<size>       declares <size>, sends half, then the connection is reset
 * /doc/<name>?cc=...   "version N" (PUT/DELETE bump N, answering with X-Location as Location); answers If-None-Match with 304
 */
export function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url!, 'http://x');
  const path = url.pathname;
  fetches.set(path, count(path) + 1);
  const cc = url.searchParams.get('cc') ?? 'max-age=600';
  const [, kind, arg] = path.split('/') as [string, string, string];
  req.resume();
  if (kind === 'doc') {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      versions.set(path, (versions.get(path) ?? 1) + 1);
      const location = req.headers['x-location'];
      res.writeHead(200, { 'Content-Type': 'text/plain', ...(typeof location === 'string' ? { Location: location } : {}) }).end('ok');
      return;
    }
    const etag = `"${path}-${versions.get(path) ?? 1}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ETag: etag, 'Cache-Control': cc }).end();
      return;
    }
    const extra = url.searchParams.get('private') !== null ? { 'Cache-Control': 'private, max-age=600' } : { 'Cache-Control': cc };
    res.writeHead(200, { 'Content-Type': 'text/plain', ETag: etag, ...extra }).end(`version ${versions.get(path) ?? 1}`);
    return;
  }
  const body = bodyOf(Number(arg));
  const headers = { 'Content-Type': 'application/octet-stream', 'Cache-Control': cc, ETag: `"${kind}-${arg}"` };
  if (kind === 'obj') res.writeHead(200, { ...headers, 'Content-Length': body.length }).end(body);
  else if (kind === 'chunked') {
    res.writeHead(200, headers);
    res.write(body.subarray(0, body.length >> 1));
    res.end(body.subarray(body.length >> 1));
  } else if (kind === 'slow' || kind === 'paced') {
    res.writeHead(200, { ...headers, 'Content-Length': body.length });
    if (kind === 'slow') writePaced(res, body, Math.ceil(body.length / 16), 30);
    else writePaced(res, body, MiB, 40);
  } else if (kind === 'broken') {
    res.writeHead(200, { ...headers, 'Content-Length': body.length });
    res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => req.socket.resetAndDestroy(), 50));
  } else res.writeHead(404).end();
}

/** `body` in pieces of `piece` bytes, one every `ms`, then the end. */
function writePaced(res: http.ServerResponse, body: Buffer, piece: number, ms: number): void {
  let at = 0;
  const next = (): void => {
    if (at >= body.length) { res.end(); return; }
    res.write(body.subarray(at, at += piece));
    setTimeout(next, ms);
  };
  next();
}
