/**
 * Responses made from stored entries: a whole hit, a range (206/416), a 304 for a client's own
 * conditional request, or HEAD. Stored fields are replayed with Age recomputed and our
 * Cache-Status member appended.
 */
import { PassThrough, Readable } from 'node:stream';
import type { StreamAnswer } from '../proxy/pipeline.js';
import { appendCacheStatus, type CacheStatus } from './cache-status.js';
import { TIMED_OUT, type StoreDeadline } from './deadline.js';
import type { Entry } from './entry.js';
import { ifRangeHolds, rangeFor } from './range.js';
import type { ByteRange } from './store/s3-store.js';

/** Fields a 304 carries (RFC 9110 §15.4.5). */
const NOT_MODIFIED_FIELDS = new Set(['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified']);

/** The stored fields as replayed (lower-case names, repeated ones joined), and a Cache-Status of caches nearer the origin. */
export function replayedFields(entry: Entry): { readonly fields: Record<string, string>; readonly upstreamStatus: string | undefined } {
  const fields: Record<string, string> = {};
  let upstreamStatus: string | undefined;
  for (const [name, value] of entry.headers) {
    const lower = name.toLowerCase();
    if (lower === 'content-length') continue; // set from the stored size by the core
    if (lower === 'cache-status') upstreamStatus = value;
    else fields[lower] = fields[lower] === undefined ? value : `${fields[lower]}, ${value}`;
  }
  return { fields, upstreamStatus };
}

/** The replayed fields with Age and our Cache-Status member (after those of `upstreamStatus`). */
export function withHitFields(fields: Record<string, string>, upstreamStatus: string | undefined, ageSeconds: number, status: CacheStatus): Record<string, string> {
  const headers = { ...fields };
  headers.age = String(Math.max(0, Math.floor(ageSeconds)));
  headers['cache-status'] = appendCacheStatus(upstreamStatus, status);
  return headers;
}

export function storedHeaders(entry: Entry, ageSeconds: number, status: CacheStatus): Record<string, string> {
  const { fields, upstreamStatus } = replayedFields(entry);
  return withHitFields(fields, upstreamStatus, ageSeconds, status);
}

function weakMatch(list: string, etag: string | undefined): boolean {
  if (etag === undefined) return false;
  const bare = etag.replace(/^W\//, '');
  return list.split(',').some((tag) => tag.trim() === '*' || tag.trim().replace(/^W\//, '') === bare);
}

/** The client's own If-None-Match / If-Modified-Since against the stored response (RFC 9110 §13.2.2). */
export function notModified(header: (name: string) => string | undefined, headers: Record<string, string>): boolean {
  const inm = header('if-none-match');
  if (inm !== undefined) return weakMatch(inm, headers.etag);
  const ims = header('if-modified-since');
  const lm = headers['last-modified'];
  if (ims === undefined || lm === undefined) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && Date.parse(lm) <= since;
}

export type HitPlan =
  | { readonly kind: 'body'; readonly status: number; readonly headers: Record<string, string>; readonly range: ByteRange | undefined; readonly length: number }
  | { readonly kind: 'empty'; readonly answer: StreamAnswer };

/** Decides what a hit sends: the body (whole or a range) or a bodiless answer (304, 416, HEAD). */
export function planHit(method: string, header: (name: string) => string | undefined, entry: Entry, headers: Record<string, string>): HitPlan {
  if (notModified(header, headers)) {
    const kept: Record<string, string> = {};
    for (const name of Object.keys(headers)) if (NOT_MODIFIED_FIELDS.has(name) || name === 'age' || name === 'cache-status') kept[name] = headers[name]!;
    return { kind: 'empty', answer: emptyAnswer(304, kept, 0) };
  }
  const ranged = entry.status === 200 && ifRangeHolds(header('if-range'), headers.etag, headers['last-modified']);
  const plan = ranged ? rangeFor(header('range'), entry.size) : { kind: 'full' as const };
  if (entry.status === 200) headers['accept-ranges'] = 'bytes';
  if (plan.kind === 'unsatisfiable') {
    return { kind: 'empty', answer: emptyAnswer(416, { ...headers, 'content-range': `bytes */${entry.size}` }, 0) };
  }
  const status = plan.kind === 'partial' ? 206 : entry.status;
  const range = plan.kind === 'partial' ? plan.range : undefined;
  if (range !== undefined) headers['content-range'] = `bytes ${range.start}-${range.end}/${entry.size}`;
  const length = range === undefined ? entry.size : range.end - range.start + 1;
  // HEAD: the GET's fields, Content-Length included (the core sends no body for a HEAD).
  if (method === 'HEAD') return { kind: 'empty', answer: emptyAnswer(status, headers, length) };
  return { kind: 'body', status, headers, range, length };
}

/** A bodiless answer; `length` is the Content-Length sent (a HEAD's is that of the GET). */
function emptyAnswer(status: number, headers: Record<string, string>, length: number): StreamAnswer {
  return { status, headers, body: Readable.from([]), length };
}

/** A short plain-text answer of the cache's own. */
export function textAnswer(status: number, message: string): StreamAnswer {
  return { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: Readable.from([Buffer.from(`${message}\n`)]), length: Buffer.byteLength(message) + 1 };
}

/** A held body, or the range of it asked for (memory-tier hits answer with a Buffer, no stream). */
export function bufferSlice(body: Buffer, range: ByteRange | undefined): Buffer {
  return range === undefined ? body : body.subarray(range.start, range.end + 1);
}

/** Stored fields updated with those of a 304 (RFC 9111 §3.2), except the framing ones. */
export function mergeFields(stored: Entry['headers'], fresh: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
  const skip = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive', 'set-cookie', 'content-range']);
  const replaced = new Set(fresh.map(([n]) => n.toLowerCase()).filter((n) => !skip.has(n)));
  const merged: Array<[string, string]> = stored.filter(([n]) => !replaced.has(n.toLowerCase())).map(([n, v]) => [n, v]);
  for (const [n, v] of fresh) if (replaced.has(n.toLowerCase())) merged.push([n, v]);
  return merged;
}

/**
 * A body whose source opens later; a source that cannot be opened, or not within the store
 * deadline, breaks the response (its head, with the whole length, may be sent already: the client
 * sees a broken response, never a shorter one). One that opens after the client left is released.
 */
export function deferredBody(opening: Promise<Readable | null>, deadline: StoreDeadline): Readable {
  const out = new PassThrough();
  deadline.within(opening, (late) => late?.destroy()).then((source) => {
    if (source === TIMED_OUT) {
      out.destroy(new Error(`the store did not send the stored body within ${deadline.ms} ms`));
      return;
    }
    if (source === null) {
      out.destroy(new Error('the stored body is gone'));
      return;
    }
    if (out.destroyed) {
      source.destroy();
      return;
    }
    source.once('error', (err) => out.destroy(err));
    out.once('close', () => source.destroy());
    source.pipe(out);
  }, (err: Error) => out.destroy(err));
  return out;
}
