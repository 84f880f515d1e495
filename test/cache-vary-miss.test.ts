/**
 * RFC 9211 §2.2 fwd=vary-miss, through the real CLI against a real S3 store (Swift + s3api): a
 * URL with a stored response that varies is a vary-miss for a request whose Vary'd fields select
 * no stored variant, and a uri-miss when nothing is stored for it. Skipped where Swift is missing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { Fixtures } from './support/fixtures.js';
import type { ProtocolClient, Reply } from './support/protocols.js';
import { cacheBed, startCacheNode } from './support/cache-node.js';
import { swiftMissing } from './support/swift.js';
import { waitFor } from './support/wait.js';

const skip = swiftMissing();
const fx = new Fixtures();
const status = (r: Reply): string => String(r.headers['cache-status'] ?? '');

/** /lang: "in <Accept-Language>", varying on it; /plain: the same without Vary. */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  const language = String(req.headers['accept-language'] ?? 'none');
  const vary = req.url === '/lang' ? { Vary: 'Accept-Language' } : {};
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'max-age=600', ETag: `"${language}"`, ...vary }).end(`in ${language}`);
}

describe('Cache-Status fwd=vary-miss (RFC 9211 §2.2; HTTP/1.1)', { skip, timeout: 120_000 }, () => {
  let client: ProtocolClient;

  before(async () => {
    ({ client } = await startCacheNode(fx, 'http/1.1', (await cacheBed(fx, 'varymiss', handler)).args()));
  });

  async function storedFor(path: string, headers: Record<string, string>): Promise<void> {
    await waitFor(async () => (await client.call({ path, headers: { ...headers, 'cache-control': 'only-if-cached' } })).status === 200, 30_000, `${path} stored`);
  }

  test('a request whose variant is not stored beside a stored one is a vary-miss; a URL with nothing stored a uri-miss', async () => {
    const en = { 'accept-language': 'en' };
    const de = { 'accept-language': 'de' };
    const first = await client.call({ path: '/lang', headers: en });
    assert.equal(first.text, 'in en');
    assert.equal(status(first), 'Outrigger; fwd=uri-miss; stored', 'nothing stored for the URL yet');
    await storedFor('/lang', en);
    const other = await client.call({ path: '/lang', headers: de });
    assert.equal(other.text, 'in de');
    assert.equal(status(other), 'Outrigger; fwd=vary-miss; stored', 'the URL has a variant stored, not this one');
    await storedFor('/lang', de);
    assert.match(status(await client.call({ path: '/lang', headers: de })), /^Outrigger; hit/);
    assert.match(status(await client.call({ path: '/lang', headers: en })), /^Outrigger; hit/);
  });

  test('a URL stored without Vary is never a vary-miss', async () => {
    const first = await client.call({ path: '/plain' });
    assert.equal(status(first), 'Outrigger; fwd=uri-miss; stored');
    await storedFor('/plain', {});
    assert.match(status(await client.call({ path: '/plain', headers: { 'accept-language': 'de' } })), /^Outrigger; hit/);
  });
});
