/** The store and the fill against a real S3 server (Swift + s3api, which checks SigV4 and implements multipart abort). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
// The AWS SDK here is an independent client checking what the store holds.
import { CreateBucketCommand, HeadObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Store } from './s3-store.js';
import { S3Error } from './s3-http.js';
import { Fill } from '../fill.js';
import { sharedSwift, swiftMissing, uniqueBucket } from '../../../test/support/swift.js';

const skip = swiftMissing();
const MiB = 1024 * 1024;

async function digest(stream: Readable): Promise<{ sha: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha: hash.digest('hex'), bytes };
}

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('S3 store on Swift', { skip, timeout: 240_000 }, () => {
  let store: S3Store;
  let s3: S3Client;

  before(async () => {
    const swift = await sharedSwift();
    store = new S3Store({ ...swift, bucket: uniqueBucket(), partSize: 5 * MiB, queueSize: 2 });
    s3 = new S3Client({ endpoint: swift.endpoint, region: swift.region, forcePathStyle: true,
      credentials: { accessKeyId: swift.accessKey, secretAccessKey: swift.secretKey } });
    await s3.send(new CreateBucketCommand({ Bucket: store.bucket }));
  });

  after(() => {
    store.destroy();
    s3.destroy();
  });

  async function openUploads(): Promise<number> {
    const out = await s3.send(new ListMultipartUploadsCommand({ Bucket: store.bucket }));
    return out.Uploads?.length ?? 0;
  }

  async function exists(key: string): Promise<boolean> {
    try {
      await s3.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key }));
      return true;
    } catch {
      return false;
    }
  }

  /** Feeds `data` through a Fill in uneven chunks, as a response body would arrive. */
  async function fill(key: string, data: Buffer, expected = data.length, minSize = 0): Promise<string | null> {
    // Room for the whole body: here the fill is never abandoned for a slow store.
    const f = new Fill(store.upload(key, expected), { expected, minSize, maxBuffered: data.length + MiB });
    for (let at = 0; at < data.length;) {
      const size = Math.min(data.length - at, 1 + ((at * 7919) % (256 * 1024)));
      f.write(data.subarray(at, at + size));
      at += size;
    }
    return f.finish();
  }

  it('answers the HeadBucket probe, and refuses a wrong secret (SigV4 is checked)', async () => {
    await store.probe();
    const swift = await sharedSwift();
    const wrong = new S3Store({ ...swift, secretKey: 'wrong', bucket: store.bucket, partSize: 5 * MiB, queueSize: 2 });
    await assert.rejects(wrong.probe(), (err: S3Error) => err.status === 403);
    await assert.rejects(wrong.getText('any/meta.json'), (err: S3Error) => err.status === 403 && err.code === 'SignatureDoesNotMatch');
    wrong.destroy();
  });

  it('signs keys with unicode, spaces, "+", "~", "%" and more, reads them back and lists them by prefix', async () => {
    const keys = ['enc/a b', 'enc/c+d', 'enc/e~f', 'enc/g%20h', 'enc/ünï日本', "enc/it's(1)*!", 'enc/q?x=1&y#z', 'enc/dir//x'];
    for (const key of keys) await store.putText(key, JSON.stringify(key));
    for (const key of keys) assert.equal(await store.getText(key), JSON.stringify(key), key);
    const listed: string[] = [];
    for await (const key of store.list('enc/', 3)) listed.push(key); // 3 pages and a short one: continuation tokens
    assert.deepEqual(listed.sort(), [...keys].sort());
    assert.equal(await store.deletePrefix('enc/'), keys.length);
    assert.equal(await store.getText('enc/a b'), null);
  });

  it('reads S3 error codes from the XML answer', async () => {
    const err = await store.http.send({ method: 'PUT', bucket: store.bucket, key: 'x', query: [['partNumber', '1'], ['uploadId', 'no-such-upload']], body: Buffer.from('x') })
      .then(() => null, (e: unknown) => e as S3Error);
    assert.ok(err instanceof S3Error, 'an S3Error');
    assert.equal(err.status, 404);
    assert.equal(err.code, 'NoSuchUpload');
  });

  for (const size of [0, 1, MiB + 17, 100 * MiB + 17]) {
    it(`stores and reads back ${size} bytes of known length exactly, as one streamed PutObject (a plain object)`, async () => {
      const data = randomBytes(size);
      const etag = await fill(`exact/${size}`, data);
      assert.ok(etag !== null && !/-\d+"$/.test(etag), `a single-PUT ETag, got ${etag}`);
      const body = await store.getBody(`exact/${size}`, etag);
      assert.ok(body !== null);
      assert.deepEqual(await digest(body), { sha: sha(data), bytes: size });
      assert.equal(await openUploads(), 0);
    });
  }

  it('stores a 100 MiB body of unknown length (and a short last part) through multipart byte for byte, with no upload left open', async () => {
    const data = randomBytes(100 * MiB + 17);
    const etag = await fill('exact/chunked-100MiB', data, -1);
    assert.ok(etag !== null && /-\d+"$/.test(etag), `a multipart ETag, got ${etag}`);
    const body = await store.getBody('exact/chunked-100MiB', etag);
    assert.deepEqual(await digest(body!), { sha: sha(data), bytes: data.length });
    assert.equal(await openUploads(), 0);
  });

  /** Writes `bytes` of a body of `expected` bytes, a MiB at a time with pauses, so most of it has reached the store. */
  async function writeSlowly(f: Fill, bytes: number): Promise<void> {
    const part = randomBytes(MiB);
    for (let at = 0; at < bytes; at += MiB) {
      f.write(part.subarray(0, Math.min(MiB, bytes - at)));
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it('a known-length body cut at 50%: the connection of the streamed PUT is destroyed and the store creates no object', async () => {
    const f = new Fill(store.upload('cut/half', 20 * MiB), { expected: 20 * MiB, minSize: 0, maxBuffered: 64 * MiB });
    await writeSlowly(f, 10 * MiB);
    // Wait until the store has taken what was written (the cut then happens mid-body, not before the PUT began).
    const deadline = Date.now() + 30_000;
    while (f.buffered > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(f.buffered, 0, 'the store took the first half');
    f.abort('upstream closed');
    assert.equal(await f.finish(), null);
    await f.cleanedUp;
    assert.equal(await exists('cut/half'), false);
    assert.equal(await openUploads(), 0);
  });

  it('a store that refuses the streamed PUT mid-body (no such bucket) fails the fill cleanly', async () => {
    const swift = await sharedSwift();
    const other = new S3Store({ ...swift, bucket: `${store.bucket}-none`, partSize: 5 * MiB, queueSize: 2 });
    try {
      const f = new Fill(other.upload('refused/1', 20 * MiB), { expected: 20 * MiB, minSize: 0, maxBuffered: 64 * MiB });
      const deadline = Date.now() + 30_000;
      for (let at = 0; f.state === 'writing' && at < 20 * MiB && Date.now() < deadline; at += MiB) {
        f.write(randomBytes(MiB));
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(await f.finish(), null);
      assert.match(f.reason, /404|NoSuchBucket/);
    } finally {
      other.destroy();
    }
  });

  it('aborts a body of unknown length that broke off: no object, no open multipart upload', async () => {
    const f = new Fill(store.upload('broken/1', -1), { expected: -1, minSize: 0, maxBuffered: 64 * MiB });
    await writeSlowly(f, 12 * MiB);
    f.abort('upstream closed');
    assert.equal(await f.finish(), null);
    // The abort may land while CreateMultipartUpload is in flight: its cleanup then aborts the upload that call opened.
    await f.cleanedUp;
    assert.equal(await openUploads(), 0);
    assert.equal(await exists('broken/1'), false);
  });

  it('aborts while CreateMultipartUpload is still in flight: the upload it opens is aborted too', async () => {
    const f = new Fill(store.upload('creating/1', -1), { expected: -1, minSize: 0, maxBuffered: 64 * MiB });
    f.write(randomBytes(5 * MiB)); // one whole part: CreateMultipartUpload starts now
    f.abort('upstream closed');
    await f.cleanedUp;
    assert.equal(await openUploads(), 0);
    assert.equal(await exists('creating/1'), false);
  });

  it('refuses to complete a clean end short of Content-Length, or an unknown length below the minimum', async () => {
    assert.equal(await fill('short/1', randomBytes(6 * MiB), 7 * MiB), null);
    assert.equal(await exists('short/1'), false);
    assert.equal(await fill('long/1', randomBytes(7 * MiB), 6 * MiB), null, 'longer than declared: cut, not stored');
    assert.equal(await exists('long/1'), false);
    assert.equal(await fill('small/1', randomBytes(1000), -1, 4096), null);
    assert.equal(await exists('small/1'), false);
    assert.ok(await fill('chunked/1', randomBytes(9000), -1, 4096) !== null, 'a long enough chunked body is kept');
    assert.equal(await openUploads(), 0);
  });

  it('abandons the fill, not the client, when the store falls behind', async () => {
    const f = new Fill(store.upload('slow/1', 8 * MiB), { expected: 8 * MiB, minSize: 0, maxBuffered: MiB });
    for (let i = 0; i < 8; i++) f.write(Buffer.alloc(MiB, i)); // written at once: the store cannot keep up
    assert.equal(f.state, 'aborted');
    assert.equal(f.reason, 'store too slow');
    assert.equal(await f.finish(), null);
  });

  it('reads a body only while it is the one the metadata names (If-Match), and absolute ranges', async () => {
    const data = Buffer.from('0123456789');
    const etag = (await fill('pair/1', data))!;
    assert.equal(await store.getBody('pair/1', '"not-the-etag"'), null);
    const range = await store.getBody('pair/1', etag, { start: 7, end: 9 });
    assert.equal(Buffer.concat(await range!.toArray()).toString(), '789');
    assert.equal(await store.getBody('missing/1', etag), null);
  });

  it('keeps small JSON beside the body and deletes by prefix', async () => {
    await store.putText('dir/a/meta.json', '{"v":1}');
    await store.putText('dir/a/v-1/meta.json', '{"v":2}');
    assert.equal(await store.getText('dir/a/meta.json'), '{"v":1}');
    assert.equal(await store.getText('dir/none.json'), null);
    assert.equal(await store.deletePrefix('dir/a/'), 2);
    assert.equal(await store.getText('dir/a/meta.json'), null);
  });
});

