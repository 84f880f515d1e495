/**
 * Fills against invalidations, through the real CLI against a real S3 store (Swift + s3api): a
 * GET miss whose response is still on its way (its head held by the backend, or its body held
 * half sent) while a PUT through the same sidecar, or an admin purge, invalidates the URL. The
 * fill of that older response must not be stored after the invalidation, and must leave no body
 * object behind. The backend holds each response on a gate the test opens: no sleeps.
 * Skipped where Swift is missing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type http from 'node:http';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Fixtures } from './support/fixtures.js';
import type { ProtocolClient, Reply } from './support/protocols.js';
import { cacheBed, startCacheNode } from './support/cache-node.js';
import { swiftMissing } from './support/swift.js';
import { waitFor } from './support/wait.js';
import { deferred, type Deferred } from './support/flow.js';
import type { Outrigger } from './support/outrigger.js';

const skip = swiftMissing();
const fx = new Fixtures();
const BODY_SIZE = 64 * 1024;

/** Document versions by path (a PUT makes the next one). */
const versions = new Map<string, number>();
/** Held responses by gate id: `holding` settles when the backend holds it, `open` is set then. */
const held = new Map<string, { holding: Deferred; open?: () => void }>();
const opened = new Set<string>();

function gate(id: string): { holding: Deferred; open?: () => void } {
  let entry = held.get(id);
  if (entry === undefined) held.set(id, entry = { holding: deferred() });
  return entry;
}

/** Holds the backend's answer until the test opens gate `id` (once: later requests go straight through). */
function hold(id: string | null, then: () => void): void {
  if (id === null || opened.has(id)) return then();
  const g = gate(id);
  g.open = () => {
    opened.add(id);
    then();
  };
  g.holding.resolve();
}

function open(id: string): void {
  const g = held.get(id);
  assert.ok(g?.open !== undefined, `gate ${id} is holding`);
  g.open();
}

/** `version N` padded to BODY_SIZE, so a body held half sent is a body the store is still being fed. */
function bodyOf(version: number): Buffer {
  const text = Buffer.from(`version ${version}\n`);
  return Buffer.concat([text, Buffer.alloc(BODY_SIZE - text.length, 0x2e)]);
}

/**
 * /doc/<name>?hold=head&id=G   GET: the version current when the request arrived; its head is held on gate G
 * /doc/<name>?hold=body&id=G   GET: the current version; half its body is sent, the rest held on gate G
 * PUT (any target)             makes the next version of the path
 */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url!, 'http://x');
  const path = url.pathname;
  req.resume();
  res.on('error', () => undefined);
  if (req.method === 'PUT') {
    versions.set(path, (versions.get(path) ?? 1) + 1);
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    return;
  }
  const version = versions.get(path) ?? 1;
  const body = bodyOf(version);
  const head = { 'Content-Type': 'text/plain', 'Content-Length': body.length, 'Cache-Control': 'max-age=600', ETag: `"${path}-${version}"` };
  const id = url.searchParams.get('id');
  if (url.searchParams.get('hold') === 'head') {
    hold(id, () => res.writeHead(200, head).end(body));
    return;
  }
  res.writeHead(200, head);
  res.write(body.subarray(0, body.length / 2));
  hold(id, () => res.end(body.subarray(body.length / 2)));
}

const status = (r: Reply): string => String(r.headers['cache-status'] ?? '');
const firstLine = (r: Reply): string => r.text.split('\n')[0]!;

async function metric(client: ProtocolClient, name: string): Promise<number> {
  const text = (await client.call({ path: '/.prometheus/metrics' })).text;
  return Number(new RegExp(`^outrigger_cache_${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
}

/** Fills that ended either way (stored or not). */
async function fillsEnded(client: ProtocolClient): Promise<number> {
  return (await metric(client, 'fills_completed_total')) + (await metric(client, 'fills_aborted_total'));
}

describe('a fill racing an invalidation of its URL (HTTP/1.1, one sidecar)', { skip, timeout: 180_000 }, () => {
  let o: Outrigger;
  let client: ProtocolClient;
  let s3: S3Client;
  let bucket: string;

  before(async () => {
    const bed = await cacheBed(fx, 'race', handler);
    ({ bucket, s3 } = bed);
    ({ o, client } = await startCacheNode(fx, 'http/1.1', bed.args()));
  });

  /** Objects the store holds for `path` (the body object of every variant, its metadata in it). */
  async function objectsOf(path: string): Promise<string[]> {
    const hash = createHash('sha256').update(`http://127.0.0.1:${o.port}${path}`).digest('hex');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (listed.Contents ?? []).map((c) => c.Key!).filter((key) => key.includes(`/${hash}/`));
  }

  /**
   * The GET started before `invalidate` runs gets the old version (it was concurrent with it); once
   * its fill ended and the store calls are over, the next GET is a miss that gets the new version,
   * and the store holds nothing of the old response.
   */
  async function race(path: string, id: string, invalidate: () => Promise<void>, headSeen: boolean, between?: () => Promise<void>): Promise<void> {
    const ended = await fillsEnded(client);
    const head = deferred();
    const first = client.call({ path, onResponse: () => head.resolve() });
    await gate(id).holding.promise;
    if (headSeen) await head.promise;
    await invalidate();
    open(id);
    const old = await first;
    assert.equal(old.error, undefined);
    assert.equal(firstLine(old), 'version 1', 'the GET that began before the invalidation gets the old version');
    // A head that came after the invalidation starts no fill at all (it could only be deleted again).
    if (headSeen) await waitFor(async () => (await fillsEnded(client)) > ended, 60_000, 'the first fill to end', 50);
    else assert.equal(await fillsEnded(client), ended, 'no fill of the response answered after the invalidation');
    await waitFor(async () => (await metric(client, 'store_calls_in_flight')) === 0, 60_000, 'store calls to end', 50);
    await between?.();
    const next = await client.call({ path });
    assert.equal(firstLine(next), 'version 2', `the GET after the invalidation is not served the old response (${status(next)})`);
    assert.match(status(next), /fwd=uri-miss/);
  }

  async function put(path: string): Promise<void> {
    const answer = await client.call({ path, method: 'PUT', body: 'new' });
    assert.equal(answer.status, 200);
  }

  test('the backend answers a GET miss after a PUT of its URL went through: the older answer is not stored', async () => {
    const path = '/doc/head-held?hold=head&id=head-put';
    await race(path, 'head-put', () => put(path), false);
    await waitFor(async () => (await objectsOf(path)).length === 1, 60_000, 'the new version stored');
    assert.match(status(await client.call({ path })), /hit/);
  });

  test('a PUT while the GET miss\'s body is still streaming to the store: not stored, and no body object left', async () => {
    const path = '/doc/body-held?hold=body&id=body-put';
    const nothingLeft = async (): Promise<void> => assert.deepEqual(await objectsOf(path), [], 'no object of the old response in the store');
    await race(path, 'body-put', () => put(path), true, nothingLeft);
    await waitFor(async () => (await objectsOf(path)).length === 1, 60_000, 'the new version stored');
    const hit = await client.call({ path });
    assert.match(status(hit), /hit/);
    assert.equal(firstLine(hit), 'version 2');
  });

  test('a purge of a URL prefix while a fill under it runs: the fill is not stored', async () => {
    const path = '/doc/purged/a?hold=body&id=body-purge';
    const purge = async (): Promise<void> => {
      versions.set('/doc/purged/a', 2); // what the origin holds once it was changed behind the cache
      const url = `http://127.0.0.1:${o.port}/doc/purged/`;
      const answer = await client.call({ method: 'POST', path: `/v1/cache/purge?prefix=${encodeURIComponent(url)}` });
      assert.equal(answer.status, 200);
    };
    await race(path, 'body-purge', purge, true);
  });
});
