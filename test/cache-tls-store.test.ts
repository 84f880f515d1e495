/**
 * The cache on an https store endpoint: the real CLI against Swift (s3api) behind a TLS
 * terminator this file starts (node:tls, certificates issued here), so every store call (the
 * S3 client's and the raw body reads of store-sockets.ts) crosses TLS. With --cacert naming the
 * store's CA, and with --insecure for a self-signed store, a fill and a byte-exact hit work; with
 * a CA that did not sign the store's certificate the store is reported down and requests bypass
 * the cache without a client error. Skipped where Swift is missing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Fixtures } from './support/fixtures.js';
import { listenLoopback } from './support/cleanup.js';
import { ProtocolClient, startFor } from './support/protocols.js';
import { cacheBed, startCacheNode, type CacheBed } from './support/cache-node.js';
import { swiftMissing } from './support/swift.js';
import { cacheStatus, untilStored } from './support/scripted-origin.js';
import { issueCertificate, type IssuedCertificate } from '../src/tls/x509.js';

const skip = swiftMissing();
const fx = new Fixtures();
const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** Bigger than one read-ahead part (8 MiB), so a hit reads several ranges over TLS. */
const body = randomBytes(20 * MiB + 123);

let bed: CacheBed;
let dir = '';
let ca: IssuedCertificate;

interface TlsStore {
  readonly endpoint: string;
  /** Bytes the store sent back through the TLS endpoint so far. */
  readonly answered: () => number;
}

/** A TLS endpoint with `pair` in front of Swift. */
async function tlsStore(pair: IssuedCertificate): Promise<TlsStore> {
  const swiftUrl = new URL(bed.swift.endpoint);
  let answered = 0;
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ cert: pair.cert, key: pair.key }, (client) => {
    const store = net.connect(Number(swiftUrl.port), swiftUrl.hostname);
    store.on('data', (chunk: Buffer) => { answered += chunk.length; });
    for (const socket of [client, store]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.once('error', () => { client.destroy(); store.destroy(); });
    }
    client.pipe(store).pipe(client);
  });
  // A failed handshake (the wrong-CA case) is the client's doing: nothing to do here.
  server.on('tlsClientError', () => undefined);
  const port = await listenLoopback(server);
  fx.add(() => new Promise((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(resolve);
  }));
  return { endpoint: `https://127.0.0.1:${port}`, answered: () => answered };
}

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** The flags for a cache on `endpoint` instead of the plain Swift endpoint. */
function argsFor(endpoint: string, extra: string[]): string[] {
  return bed.args(['--cache-memory', '0', ...extra], endpoint);
}

describe('cache on an https store endpoint', { skip, timeout: 180_000 }, () => {
  before(async () => {
    if (skip !== undefined) return;
    bed = await cacheBed(fx, 'tls', (req, res) => {
      req.resume();
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, 'Cache-Control': 'max-age=600', ETag: '"b"' }).end(body);
    }, 'tls-store-origin');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-cache-tls-'));
    fx.add(async () => fs.rmSync(dir, { recursive: true, force: true }));
    ca = await issueCertificate({ commonName: 'Outrigger Store CA', ca: true });
  });

  /** A fill through `client` and a hit read back from the store whole, byte for byte, through `store`'s TLS endpoint. */
  async function fillAndHit(client: ProtocolClient, target: string, store: TlsStore): Promise<void> {
    const miss = await client.call({ path: target });
    assert.equal(miss.status, 200);
    assert.equal(cacheStatus(miss), 'Outrigger; fwd=uri-miss; stored');
    assert.equal(sha(miss.body), sha(body));
    await untilStored(client, target, {}, 'only-if-cached');
    const before = store.answered();
    const hit = await client.call({ path: target });
    assert.equal(hit.status, 200);
    assert.match(cacheStatus(hit), /^Outrigger; hit/);
    assert.equal(hit.body.length, body.length);
    assert.equal(sha(hit.body), sha(body), 'the hit is byte-exact');
    assert.ok(store.answered() - before >= body.length, 'the hit\'s body came from the store through TLS');
  }

  test('--cacert with the store\'s CA: a fill and a byte-exact hit over TLS', async () => {
    const store = await tlsStore(await issueCertificate({ commonName: 'store', hosts: ['127.0.0.1', 'localhost'], issuer: ca }));
    const { client } = await startCacheNode(fx, 'http/1.1', argsFor(store.endpoint, ['--cacert', write('ca.pem', ca.cert)]));
    await fillAndHit(client, '/cacert', store);
  });

  test('--insecure: a self-signed store certificate is accepted; a fill and a byte-exact hit', async () => {
    const store = await tlsStore(await issueCertificate({ commonName: 'self-signed store', hosts: ['127.0.0.1'] }));
    const { client } = await startCacheNode(fx, 'http/1.1', argsFor(store.endpoint, ['--insecure']));
    await fillAndHit(client, '/insecure', store);
  });

  test('a CA that did not sign the store\'s certificate: the store is reported down, requests bypass the cache without a client error', async () => {
    const other = await issueCertificate({ commonName: 'Another CA', ca: true });
    const store = await tlsStore(await issueCertificate({ commonName: 'store', hosts: ['127.0.0.1'], issuer: other }));
    const o = await startFor('http/1.1', ['--log', ...argsFor(store.endpoint, ['--cacert', write('wrong-ca.pem', ca.cert)])], (started) => fx.track(started));
    await o.output(/cache store .* is down, requests bypass the cache: .*certificate/i, 30_000);
    const client = ProtocolClient.open('http/1.1', o);
    fx.add(async () => client.close());
    for (let i = 0; i < 2; i++) {
      const reply = await client.call({ path: '/wrong-ca' });
      assert.equal(reply.status, 200);
      assert.equal(reply.error, undefined);
      assert.equal(sha(reply.body), sha(body));
      assert.match(cacheStatus(reply), /fwd=bypass/);
    }
    assert.doesNotMatch(o.stdout, /cache store .* is up/);
  });
});
