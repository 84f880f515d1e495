/**
 * One store object per entry, against a real S3 server (Swift + s3api) behind a relay that sees
 * every store call: a fill is one write (the metadata in the body's own PUT), a whole-GET hit one
 * GET; metadata too large to inline falls back to meta.json beside the body and still hits byte
 * for byte; a 304 refresh copies the object onto itself with new metadata; a body replaced
 * between a lookup's HEAD and its ranged GET is not served; the Vary index is found by the same
 * single GET; the layout before this one is still read.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Entries, type Located } from './entries.js';
import type { Entry } from './entry.js';
import { BODY, entryKeys, variantDir, type EntryKeys } from './key.js';
import { prepareResponse, requestFacts, storeVerdict } from './policy.js';
import { CacheStats } from './stats.js';
import { StoreHealth } from './store-health.js';
import { FORM, INLINE_BODY_MAX, inlineFields, SIDECAR_FIELDS, type EntryHead } from './store-meta.js';
import { S3Store } from './store/s3-store.js';
import { WHOLE_PUT_MAX } from './store/body-put.js';
import { ReadAheadBudget, type ReadAhead } from './store/parted-body.js';
import { variantId } from './vary.js';
import { sharedSwift, storeClient, swiftMissing, uniqueBucket } from '../../test/support/swift.js';
import { Fixtures } from '../../test/support/fixtures.js';
import { StoreRelay } from '../../test/support/store-relay.js';

const skip = swiftMissing();
const noHeader = (): undefined => undefined;
const fx = new Fixtures();

function headOf(keys: EntryKeys, extra: ReadonlyArray<readonly [string, string]> = [], vary: readonly string[] = []): EntryHead {
  const fields = [['cache-control', 'max-age=600'], ['content-type', 'text/plain'], ...extra] as const;
  const verdict = storeVerdict(requestFacts('GET', '/', noHeader), prepareResponse(200, fields), Date.now);
  assert.ok(verdict.store);
  return { v: 1, url: keys.url, status: 200, headers: fields, vary, policy: verdict.policy };
}

describe('one store object per entry, on Swift', { skip, timeout: 180_000 }, () => {
  let store: S3Store;
  let relay: StoreRelay;
  const stops: (() => void)[] = [];

  before(async () => {
    const swift = await sharedSwift();
    relay = await StoreRelay.open(fx, swift.endpoint);
    store = new S3Store({ ...swift, endpoint: relay.endpoint, bucket: uniqueBucket('inline'), partSize: 5 * 1024 * 1024, queueSize: 2 });
    (await storeClient(swift, store.bucket)).destroy();
  });

  after(() => {
    for (const stop of stops) stop();
    store.destroy();
  });

  /** A sidecar's entries (its own memory of metadata; no memory tier: every hit asks the store). */
  function entriesOf(readAhead: ReadAhead | null = null, stats = new CacheStats()): Entries {
    const health = new StoreHealth({ intervalMs: 60_000, probe: async () => undefined, report: () => undefined });
    const entries = new Entries(store, null, health, stats, readAhead);
    stops.push(() => entries.stop());
    return entries;
  }

  /** Stores `body` for `keys` (in the variant `dir`) as fill-start.ts does: the body's PUT carries the metadata when it fits. */
  async function fill(entries: Entries, keys: EntryKeys, head: EntryHead, body: Buffer, dir = keys.dir): Promise<Entry> {
    const token = entries.token();
    const write = store.upload(dir + BODY, body.length, () => inlineFields(head));
    for (let at = 0; at < body.length; at += 64 * 1024) write.write(body.subarray(at, at + 64 * 1024));
    const bodyEtag = await write.end();
    const entry: Entry = { ...head, size: body.length, bodyEtag, ...(write.inline ? { inline: true } : {}) };
    assert.ok(await entries.save(keys, dir, entry, undefined, token));
    return entry;
  }

  /** The store calls `work` makes (as the relay saw them). */
  async function callsOf(work: () => Promise<unknown>): Promise<string[]> {
    const from = relay.calls.length;
    await work();
    return relay.calls.slice(from);
  }

  async function read(found: Located | null, entries: Entries): Promise<Buffer> {
    assert.ok(found !== null, 'found');
    const body = await entries.openBody(found);
    assert.ok(body !== null, 'its body is there');
    return Buffer.concat(await body.toArray() as Buffer[]);
  }

  it('a fill is one store write; a whole-GET hit one store call, byte-exact; a HEAD lookup one HEAD', async () => {
    const entries = entriesOf();
    const keys = entryKeys('t/', 'http', 'example.test', '/one-object');
    const body = Buffer.alloc(1024 * 1024 + 7, 'a');
    const head = headOf(keys, [['x-note', 'naïve café ☕']]);
    let entry: Entry | undefined;
    assert.deepEqual(await callsOf(async () => { entry = await fill(entries, keys, head, body); }), ['PUT body']);
    assert.equal(entry!.inline, true);
    const other = entriesOf(); // another sidecar: nothing remembered
    let got: Buffer | undefined;
    assert.deepEqual(await callsOf(async () => { got = await read(await other.find(keys, noHeader, 'whole'), other); }), ['GET body']);
    assert.ok(got!.equals(body), 'byte-exact');
    const found = await entriesOf().find(keys, noHeader, 'whole');
    assert.deepEqual(found?.entry.headers, head.headers, 'the stored fields, a non-ASCII value among them, come back as they were');
    found?.early?.drop();
    assert.deepEqual(await callsOf(async () => { assert.ok(await entriesOf().find(keys, noHeader, 'head') !== null); }), ['HEAD body']);
    assert.deepEqual(await callsOf(async () => { assert.equal(await entriesOf().find(entryKeys('t/', 'http', 'example.test', '/none'), noHeader, 'whole'), null); }), ['GET body'], 'a miss is one 404');
  });

  it('a small body whose PUT lost its connection before any answer is sent once more, whole, and hits byte-exact', async () => {
    const entries = entriesOf();
    const keys = entryKeys('t/', 'http', 'example.test', '/put-again');
    const body = Buffer.from(Array.from({ length: 300 * 1024 + 3 }, (_, i) => (i * 7) % 256));
    assert.ok(body.length <= WHOLE_PUT_MAX, 'a body sent whole (known length, small)');
    relay.breakNext('PUT body');
    assert.deepEqual(await callsOf(() => fill(entries, keys, headOf(keys), body)), ['PUT body', 'PUT body'], 'the PUT, then once more');
    const got = await read(await entriesOf().find(keys, noHeader, 'whole'), entries);
    assert.ok(got.equals(body), 'byte-exact');
  });

  it('a large body\'s first hit reads ahead from the lookup\'s own GET: its first part, then ranges with If-Match', async () => {
    const keys = entryKeys('t/', 'http', 'example.test', '/read-ahead');
    const body = Buffer.from(Array.from({ length: 5 * 64 * 1024 + 100 }, (_, i) => i % 251));
    await fill(entriesOf(), keys, headOf(keys), body);
    const stats = new CacheStats();
    const plan: ReadAhead = { partSize: 64 * 1024, lanes: 2, budget: new ReadAheadBudget(1024 * 1024) };
    const other = entriesOf(plan, stats);
    let got: Buffer | undefined;
    const calls = await callsOf(async () => { got = await read(await other.find(keys, noHeader, 'whole'), other); });
    assert.ok(got!.equals(body), 'byte-exact');
    assert.equal(stats.readAheads, 1, 'read ahead');
    assert.equal(stats.earlyBodies, 1, 'the first part from the lookup\'s GET');
    assert.deepEqual(calls, Array(6).fill('GET body'), 'the lookup, then the five other parts');
    assert.equal(plan.budget.available, 1024 * 1024, 'the read-ahead given back');
  });

  it('metadata too large to inline: meta.json beside the body, still stored and hit byte-exact', async () => {
    const entries = entriesOf();
    const keys = entryKeys('t/', 'http', 'example.test', '/large-headers');
    const random = Array.from({ length: 40 }, (_, i) => [`x-big-${i}`, `${Math.random().toString(36)}${Math.random().toString(36)}`] as const);
    const head = headOf(keys, random);
    assert.equal(inlineFields(head), null, 'the fields do not fit in user metadata');
    const body = Buffer.from('a body whose response headers are too big to inline');
    let entry: Entry | undefined;
    assert.deepEqual(await callsOf(async () => { entry = await fill(entries, keys, head, body); }), ['PUT body', 'PUT meta']);
    assert.equal(entry!.inline, undefined);
    const other = entriesOf();
    let got: Buffer | undefined;
    let found: Located | null = null;
    assert.deepEqual(await callsOf(async () => {
      found = await other.find(keys, noHeader, 'whole');
      got = await read(found, other);
    }), ['GET body', 'GET meta']);
    assert.ok(got!.equals(body));
    assert.deepEqual(found!.entry.headers, head.headers);
  });

  it('a Range lookup is one GET of the range asked; of a sidecar-layout entry, that GET and its meta.json (which must name the same ETag and size)', async () => {
    const keys = entryKeys('t/', 'http', 'example.test', '/ranged-sidecar');
    const random = Array.from({ length: 40 }, (_, i) => [`x-big-${i}`, `${Math.random().toString(36)}${Math.random().toString(36)}`] as const);
    await fill(entriesOf(), keys, headOf(keys, random), Buffer.from('0123456789'));
    const inlineKeys = entryKeys('t/', 'http', 'example.test', '/ranged-inline');
    await fill(entriesOf(), inlineKeys, headOf(inlineKeys), Buffer.from('abcdefghij'));
    for (const [k, expected, calls] of [[keys, '2345', ['GET body', 'GET meta']], [inlineKeys, 'cdef', ['GET body']]] as const) {
      const other = entriesOf();
      let got = '';
      assert.deepEqual(await callsOf(async () => {
        const found = await other.find(k, noHeader, { start: 2, end: 5 });
        assert.ok(found !== null && found.entry.size === 10, 'the size from the answer\'s Content-Range');
        const body = await other.openBody(found, { start: 2, end: 5 });
        got = Buffer.concat(await body!.toArray() as Buffer[]).toString();
      }), calls);
      assert.equal(got, expected);
    }
    // Open-ended, and a range past the end (416: the head is read then, and the entry's size answers it).
    const other = entriesOf();
    const found = await other.find(keys, noHeader, { start: 7, end: undefined });
    assert.equal(Buffer.concat(await (await other.openBody(found!, { start: 7, end: 9 }))!.toArray() as Buffer[]).toString(), '789');
    assert.deepEqual(await callsOf(async () => { assert.equal((await entriesOf().find(inlineKeys, noHeader, { start: 20, end: 30 }))?.entry.size, 10); }), ['GET body', 'HEAD body']);
  });

  it('a Range lookup\'s meta.json that names another body (replaced between the two reads) is a miss', async () => {
    const keys = entryKeys('t/', 'http', 'example.test', '/ranged-replaced');
    const random = Array.from({ length: 40 }, (_, i) => [`x-big-${i}`, `${Math.random().toString(36)}${Math.random().toString(36)}`] as const);
    const first = await fill(entriesOf(), keys, headOf(keys, random), Buffer.from('first body'));
    // The body replaced (same layout) without its meta.json: the old meta.json names the old ETag.
    const write = store.upload(keys.dir + BODY, 11, null);
    write.write(Buffer.from('second body'));
    assert.notEqual(await write.end(), first.bodyEtag);
    assert.equal(await entriesOf().find(keys, noHeader, { start: 0, end: 3 }), null);
  });

  it('a body over 8 MiB keeps the sidecar layout (a 304 would copy all of it: store-meta.ts has the figures); one of 8 MiB rides inline', async () => {
    const keys = entryKeys('t/', 'http', 'example.test', '/inline-max');
    const head = headOf(keys);
    const max = 8 * 1024 * 1024;
    assert.equal(INLINE_BODY_MAX, max);
    for (const [size, inline] of [[max + 1, false], [max, true]] as const) {
      const write = store.upload(keys.dir + BODY, size, () => inlineFields(head));
      const chunk = Buffer.alloc(1024 * 1024, 'x');
      for (let at = 0; at < size; at += chunk.length) write.write(chunk.subarray(0, Math.min(chunk.length, size - at)));
      await write.end();
      assert.equal(write.inline, inline, `${size} bytes`);
      const stored = await store.headObject(keys.dir + BODY);
      assert.equal(stored?.fields.get(FORM), inline ? 'e' : 's');
    }
  });

  it('a 304 refresh rewrites the metadata on the object itself: the body is kept, the new fields served', async () => {
    const entries = entriesOf();
    const keys = entryKeys('t/', 'http', 'example.test', '/refreshed');
    const body = Buffer.from('refreshed body');
    await fill(entries, keys, headOf(keys), body);
    const found = await entries.find(keys, noHeader, 'head');
    assert.ok(found !== null);
    const updated: Entry = { ...found.entry, headers: [...found.entry.headers, ['x-revalidated', 'yes']] };
    assert.deepEqual(await callsOf(() => entries.update(found, updated)), ['PUT body'], 'one CopyObject of the object onto itself');
    const other = entriesOf();
    const again = await other.find(keys, noHeader, 'whole');
    assert.ok(again !== null && again.entry.headers.some(([n, v]) => n === 'x-revalidated' && v === 'yes'), 'the new fields');
    assert.equal(again.entry.bodyEtag, found.entry.bodyEtag, 'Swift keeps a plain object\'s ETag through the copy');
    assert.ok((await read(again, other)).equals(body), 'the same body');
  });

  it('a refresh of a body another writer replaced meanwhile does not relabel the new body', async () => {
    const entries = entriesOf();
    const keys = entryKeys('t/', 'http', 'example.test', '/replaced-before-refresh');
    await fill(entries, keys, headOf(keys), Buffer.from('first'));
    const found = await entries.find(keys, noHeader, 'head');
    assert.ok(found !== null);
    await fill(entriesOf(), keys, headOf(keys, [['x-writer', 'second']]), Buffer.from('second body'));
    await entries.update(found, { ...found.entry, headers: [...found.entry.headers, ['x-revalidated', 'yes']] });
    const now = await entriesOf().find(keys, noHeader, 'whole');
    assert.ok(now !== null);
    assert.ok(now.entry.headers.some(([n]) => n === 'x-writer'), 'the second writer\'s metadata');
    assert.ok(!now.entry.headers.some(([n]) => n === 'x-revalidated'), 'not relabelled with the first entry\'s refresh');
    assert.equal((await read(now, entriesOf())).toString(), 'second body');
  });

  it('a body replaced between the HEAD of a range lookup and its ranged GET is not served', async () => {
    const entries = entriesOf();
    const keys = entryKeys('t/', 'http', 'example.test', '/ranged');
    await fill(entries, keys, headOf(keys), Buffer.from('0123456789'));
    const found = await entries.find(keys, noHeader, 'head');
    assert.ok(found !== null && found.early === undefined, 'a HEAD: no body open');
    const ranged = await entries.openBody(found, { start: 2, end: 4 });
    assert.equal(Buffer.concat(await ranged!.toArray() as Buffer[]).toString(), '234');
    await fill(entriesOf(), keys, headOf(keys), Buffer.from('abcdefghij'));
    assert.equal(await entries.openBody(found, { start: 2, end: 4 }), null, 'If-Match: the new body is not served for the old entry');
  });

  it('the Vary index is the empty object at the URL\'s body key, found by the same single GET', async () => {
    const entries = entriesOf();
    const keys = entryKeys('t/', 'http', 'example.test', '/varied');
    const accept = (value: string) => (name: string): string | undefined => (name === 'accept-language' ? value : undefined);
    const dir = variantDir(keys, variantId(['accept-language'], accept('fr')));
    const head = headOf(keys, [['vary', 'Accept-Language']], ['accept-language']);
    assert.deepEqual(await callsOf(() => fill(entries, keys, head, Buffer.from('bonjour'), dir)), ['PUT body', 'PUT body'], 'the variant, then the index');
    const other = entriesOf();
    let got: Buffer | undefined;
    assert.deepEqual(await callsOf(async () => { got = await read(await other.find(keys, accept('fr'), 'whole'), other); }), ['GET body', 'GET body'], 'the index, then the variant');
    assert.equal(got!.toString(), 'bonjour');
    assert.equal(await entriesOf().find(keys, accept('de'), 'whole'), null, 'another variant: a miss');
  });

  it('an entry of the layout before (a body without metadata, meta.json beside it) is still read; a mismatched one is a miss', async () => {
    const entries = entriesOf();
    const keys = entryKeys('t/', 'http', 'example.test', '/old-layout');
    await store.putText(keys.dir + BODY, 'old body');
    const etag = (await store.headObject(keys.dir + BODY))!.etag;
    await store.putText(keys.dir + 'meta.json', JSON.stringify({ ...headOf(keys), size: 8, bodyEtag: etag }));
    assert.equal((await read(await entries.find(keys, noHeader, 'whole'), entries)).toString(), 'old body');
    await store.putText(keys.dir + BODY, 'new body'); // replaced without its metadata
    assert.equal(await entriesOf().find(keys, noHeader, 'whole'), null);
  });

  it('a Vary index left in meta.json beside a body (the URL stopped varying) is not read as the index', async () => {
    const keys = entryKeys('t/', 'http', 'example.test', '/stopped-varying');
    await store.putText(keys.dir + 'meta.json', JSON.stringify({ v: 1, url: keys.url, varyIndex: ['accept-language'] }));
    // The old variant the index would select is still there.
    const vary = ['accept-language'];
    await store.putText(variantDir(keys, variantId(vary, noHeader)) + BODY, 'old variant', inlineFields(headOf(keys, [], vary))!);
    await store.putText(keys.dir + BODY, 'a body whose own metadata did not fit', SIDECAR_FIELDS);
    assert.equal(await entriesOf().find(keys, noHeader, 'whole'), null, 'a miss, not the old variant');
  });

  it('a body object with malformed inline metadata is a miss', async () => {
    const keys = entryKeys('t/', 'http', 'example.test', '/malformed');
    await store.putText(keys.dir + BODY, 'x', { 'x-amz-meta-ocf': 'e', 'x-amz-meta-oc0': 'not-deflate' });
    assert.equal(await entriesOf().find(keys, noHeader, 'whole'), null);
  });
});
