/**
 * The shared cache through the real CLI, against a real S3 store (Swift + s3api) and real
 * backends, for HTTP/1.1 and HTTP/2 clients: byte-exact hits, ranges, revalidation and HEAD
 * (cache-safety.test has what must never be served). Skipped, with the reason, where Swift is missing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Fixtures } from './support/fixtures.js';
import { PROTOCOLS, short, type ProtocolClient, type Reply } from './support/protocols.js';
import { cacheBed, startCacheNode } from './support/cache-node.js';
import { bodyOf, count, handler } from './support/cache-origin.js';
import { cacheStatus as status, untilStored } from './support/scripted-origin.js';
import { swiftMissing } from './support/swift.js';
import { waitFor } from './support/wait.js';

const skip = swiftMissing();
const fx = new Fixtures();
const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Polls with only-if-cached until the entry is stored (a 504 means not yet). */
const stored = (client: ProtocolClient, path: string): Promise<Reply> => untilStored(client, path, {}, 'only-if-cached');

let args: string[] = [];
before(async () => {
  if (skip !== undefined) return;
  args = (await cacheBed(fx, 'it', handler)).args(['--log']);
});

for (const protocol of PROTOCOLS) {
  describe(`cache through ${protocol}`, { skip, timeout: 180_000 }, () => {
    let client: ProtocolClient;
    const p = short(protocol);
    before(async () => {
      ({ client } = await startCacheNode(fx, protocol, args));
    });

    for (const size of [0, 1, MiB, 100 * MiB]) {
      test(`a ${size} B object is stored and served byte for byte, without the backend`, async () => {
        // 100 MiB comes at 25 MiB/s, as from a remote backend: a store slower than the client loses the fill (by design).
        const kind = size > 10 * MiB ? 'paced' : 'obj';
        const path = `/${kind}/${size}?p=${p}`;
        const first = await client.call({ path });
        assert.equal(first.status, 200);
        assert.equal(status(first), 'Outrigger; fwd=uri-miss; stored');
        assert.equal(sha(first.body), sha(bodyOf(size)));
        const hit = await stored(client, path);
        assert.equal(hit.status, 200);
        assert.match(status(hit), /Outrigger; hit/);
        assert.equal(sha(hit.body), sha(bodyOf(size)));
        assert.equal(count(`/${kind}/${size}`), protocol === 'h2' ? 2 : 1, 'one backend fetch per protocol (keys differ by scheme)');
      });
    }

    test('a chunked response (no Content-Length) is stored and served byte for byte', async () => {
      const path = `/chunked/${300 * 1024}?p=${p}`;
      assert.equal(sha((await client.call({ path })).body), sha(bodyOf(300 * 1024)));
      const hit = await stored(client, path);
      assert.equal(sha(hit.body), sha(bodyOf(300 * 1024)));
    });

    test('ranges come from the stored object: suffix, middle, If-Range, 416', async () => {
      const path = `/obj/1000?p=${p}&r=1`;
      await client.call({ path });
      await stored(client, path);
      const before = count('/obj/1000');
      const suffix = await client.call({ path, headers: { range: 'bytes=-10' } });
      assert.equal(suffix.status, 206);
      assert.equal(suffix.headers['content-range'], 'bytes 990-999/1000');
      assert.deepEqual(suffix.body, bodyOf(1000).subarray(990));
      const middle = await client.call({ path, headers: { range: 'bytes=100-199' } });
      assert.deepEqual([middle.status, middle.body], [206, bodyOf(1000).subarray(100, 200)]);
      const stale = await client.call({ path, headers: { range: 'bytes=0-9', 'if-range': '"another"' } });
      assert.deepEqual([stale.status, stale.body.length], [200, 1000], 'If-Range not matching: the whole object');
      const same = await client.call({ path, headers: { range: 'bytes=0-9', 'if-range': '"obj-1000"' } });
      assert.equal(same.status, 206);
      const beyond = await client.call({ path, headers: { range: 'bytes=5000-' } });
      assert.equal(beyond.status, 416);
      assert.equal(beyond.headers['content-range'], 'bytes */1000');
      assert.equal(count('/obj/1000'), before, 'no range went to the backend');
    });

    test('a fresh entry the request refuses (max-age=0) is revalidated: a 304 serves the stored body, fwd=request', async () => {
      const path = `/doc/reval-${p}?cc=max-age%3D600`;
      await client.call({ path });
      await stored(client, path);
      const again = await client.call({ path, headers: { 'cache-control': 'max-age=0' } });
      assert.equal(again.status, 200);
      assert.equal(again.text, 'version 1');
      assert.match(status(again), /^Outrigger; fwd=request; fwd-status=304; ttl=\d+$/);
      assert.equal(count(`/doc/reval-${p}`), 2);
    });

    test('a stale entry is revalidated: a 304 serves the stored body, fwd=stale; only-if-cached on it is a 504', async () => {
      const path = `/doc/stale-${p}?cc=max-age%3D0`;
      await client.call({ path });
      // Stale from the start: only a request that accepts stale (max-stale) can show it is stored.
      await waitFor(async () => (await client.call({ path, headers: { 'cache-control': 'only-if-cached, max-stale' } })).status === 200, 30_000, 'stored', 50);
      const refused = await client.call({ path, headers: { 'cache-control': 'only-if-cached' } });
      assert.equal(refused.status, 504);
      assert.equal(status(refused), 'Outrigger; fwd=miss; detail=only-if-cached');
      assert.equal(count(`/doc/stale-${p}`), 1, 'neither only-if-cached request reached the backend');
      const again = await client.call({ path });
      assert.deepEqual([again.status, again.text], [200, 'version 1']);
      assert.match(status(again), /^Outrigger; fwd=stale; fwd-status=304; ttl=0$/);
      assert.equal(count(`/doc/stale-${p}`), 2);
    });

    test('HEAD is answered from the GET entry', async () => {
      const path = `/obj/4096?p=${p}&head=1`;
      await client.call({ path });
      await stored(client, path);
      const head = await client.call({ path, method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], '4096');
      assert.match(status(head), /hit/);
      assert.equal(head.body.length, 0);
    });
  });
}
