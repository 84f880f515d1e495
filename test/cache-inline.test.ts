/**
 * One store object per entry, end to end through the sidecar over HTTP/1.1 and HTTP/2, its store
 * calls seen by a relay: a response whose metadata fits rides in its body's PUT (no meta.json is
 * written) and its next hit from the store is one GET; a response whose fields are too big for
 * user metadata (AWS 2 KB, Swift 256 B per value) is still stored, with meta.json beside its
 * body, and hit byte for byte with every field (a Range hit of it is two calls: the range, meta.json); a 304 keeps the body and serves the new fields,
 * made from the body the stale lookup's GET brought (no second GET).
 * The memory tier is off, so every hit is a store lookup.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { Fixtures } from './support/fixtures.js';
import { PROTOCOLS, type ProtocolClient, type Reply } from './support/protocols.js';
import { cacheBed, startCacheNode } from './support/cache-node.js';
import { StoreRelay } from './support/store-relay.js';
import { swiftMissing } from './support/swift.js';
import { waitFor } from './support/wait.js';

const skip = swiftMissing();
const fx = new Fixtures();
const BODY = randomBytes(300 * 1024);
/** Forty fields of random text: about 2 KB even deflated, more than any store's user metadata takes. */
const BIG_FIELDS = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x-big-${i}`, randomBytes(24).toString('base64')]));
const versions = new Map<string, number>();

/** /plain/<n>: BODY with a small head; /big/<n>: the same with BIG_FIELDS; /doc/<n>: answers If-None-Match with a 304 carrying X-Version. */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const [, kind] = new URL(req.url!, 'http://x').pathname.split('/');
  req.resume();
  const head = { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'max-age=600', ETag: '"v1"', 'X-Note': 'caf\u00e9' };
  if (kind === 'doc') {
    const seen = (versions.get(req.url!) ?? 0) + 1;
    versions.set(req.url!, seen);
    if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304, { ETag: '"v1"', 'Cache-Control': 'max-age=600', 'X-Version': String(seen) }).end();
    return void res.writeHead(200, { ...head, 'Cache-Control': 'max-age=0', 'X-Version': String(seen) }).end(BODY);
  }
  res.writeHead(200, { ...head, ...(kind === 'big' ? BIG_FIELDS : {}) }).end(BODY);
}

let relay: StoreRelay;
let args: string[];

before(async () => {
  if (skip !== undefined) return;
  const bed = await cacheBed(fx, 'inline', handler, 'inline-origin');
  relay = await StoreRelay.open(fx, bed.swift.endpoint);
  args = bed.args(['--cache-memory', '0'], relay.endpoint);
});

const status = (r: Reply): string => String(r.headers['cache-status'] ?? '');

for (const protocol of PROTOCOLS) describe(`one store object per entry, ${protocol} clients`, { skip, timeout: 180_000 }, () => {
  let client: ProtocolClient;
  /** The first sidecar's address, the authority of every URL it stores. */
  let authority: string;
  const own = (path: string): string => `${path}/${protocol === 'h2' ? 'h2' : 'h1'}`;

  before(async () => {
    const first = await startCacheNode(fx, protocol, args);
    client = first.client;
    authority = `127.0.0.1:${first.o.port}`;
  });

  /** The entries' store calls (not the health probes) made while `work` runs and until they have been quiet for half a second (a fill's writes end after its response). */
  async function callsOf(work: () => Promise<void>): Promise<string[]> {
    const entryCalls = (): string[] => relay.calls.filter((c) => !c.endsWith(' bucket'));
    const from = entryCalls().length;
    await work();
    let seen = -1;
    await waitFor(() => {
      const quiet = entryCalls().length === seen;
      seen = entryCalls().length;
      return quiet;
    }, 30_000, 'the store calls to end', 500);
    return entryCalls().slice(from);
  }

  async function hit(path: string): Promise<Reply> {
    let reply: Reply | undefined;
    await waitFor(async () => {
      reply = await client.call({ path, headers: { 'cache-control': 'only-if-cached' } });
      return reply.status === 200 && /hit/.test(status(reply));
    }, 60_000, `${path} to be a hit`, 100);
    return reply!;
  }

  test('metadata that fits rides in the body\'s PUT: no meta.json; a hit is one GET, byte for byte', async () => {
    const path = own('/plain/1');
    const fill = await callsOf(async () => { assert.match(status(await client.call({ path })), /stored/); });
    assert.equal(fill.filter((c) => c === 'PUT body').length, 1, fill.join(', '));
    assert.equal(fill.filter((c) => c.endsWith(' meta')).length, 0, `no metadata object: ${fill.join(', ')}`);
    await hit(path);
    const calls = await callsOf(async () => {
      const reply = await client.call({ path });
      assert.match(status(reply), /hit/);
      assert.ok(reply.body.equals(BODY), 'byte-exact');
      assert.equal(Buffer.from(String(reply.headers['x-note']), 'latin1').toString('latin1'), 'caf\u00e9', 'a non-ASCII field value survives');
    });
    assert.deepEqual(calls, ['GET body']);
  });

  test('fields too big for user metadata: stored with meta.json beside the body, and hit byte for byte with every field', async () => {
    const path = own('/big/1');
    const fill = await callsOf(async () => { assert.match(status(await client.call({ path })), /stored/); });
    assert.deepEqual(fill.filter((c) => c.startsWith('PUT')), ['PUT body', 'PUT meta']);
    const reply = await hit(path);
    assert.ok(reply.body.equals(BODY), 'byte-exact');
    for (const [name, value] of Object.entries(BIG_FIELDS)) assert.equal(reply.headers[name], value, name);
    // A Range hit of it by another sidecar (nothing remembered): the GET of the range asked (its size in
    // Content-Range) and meta.json, no HEAD first.
    const other = (await startCacheNode(fx, protocol, args)).client;
    const calls = await callsOf(async () => {
      const part = await other.call({ path, headers: { range: 'bytes=10-19', [protocol === 'h2' ? ':authority' : 'host']: authority } });
      assert.match(status(part), /hit/);
      assert.equal(part.status, 206);
      assert.equal(part.headers['content-range'], `bytes 10-19/${BODY.length}`);
      assert.ok(part.body.equals(BODY.subarray(10, 20)), 'byte-exact');
    });
    assert.deepEqual(calls, ['GET body', 'GET meta']);
  });

  test('a 304 keeps the stored body and serves the new fields', async () => {
    const path = own('/doc/1');
    await client.call({ path });
    await waitFor(async () => (await client.call({ path, headers: { 'cache-control': 'only-if-cached, max-stale' } })).status === 200, 60_000, 'stored', 100);
    let revalidated: Reply | undefined;
    const calls = await callsOf(async () => { revalidated = await client.call({ path }); });
    assert.match(status(revalidated!), /fwd=stale; fwd-status=304/);
    // The lookup's GET brought the stale body; the 304's answer is made from it, not read again.
    assert.deepEqual(calls.filter((c) => c.startsWith('GET')), ['GET body'], calls.join(', '));
    assert.equal(revalidated!.headers['x-version'], '2');
    assert.ok(revalidated!.body.equals(BODY));
    // The refresh was written to the store (the object copied onto itself): another sidecar, which
    // remembers nothing, hits it fresh with the new field.
    const other = (await startCacheNode(fx, protocol, args)).client;
    let fresh: Reply | undefined;
    await waitFor(async () => {
      // The same key: the URL's authority is the first sidecar's.
      fresh = await other.call({ path, headers: { 'cache-control': 'only-if-cached', [protocol === 'h2' ? ':authority' : 'host']: authority } });
      return fresh.status === 200;
    }, 60_000, 'the refreshed entry in the store', 100);
    assert.match(status(fresh!), /hit/);
    assert.equal(fresh!.headers['x-version'], '2');
    assert.ok(fresh!.body.equals(BODY));
  });
});
