/**
 * TLS end to end, on real processes and real handshakes: serving (--cert/--key with reloads,
 * --auto-tls-host, --tls-max, HTTP/2 by ALPN) and https backends (--cacert, mutual TLS,
 * --insecure), plus the start-up errors for missing or bad files. Certificates are made here with
 * the same X.509 builder Outrigger uses for --auto-tls-host.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { TestBackend } from './support/backends.js';
import { Outrigger, runCli } from './support/outrigger.js';
import { waitFor } from './support/wait.js';
import { issueCertificate, type IssuedCertificate } from '../src/tls/x509.js';
import { closeSession } from './support/h2-session.js';

const cleanup: (() => unknown)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

let dir = '';
let ca: IssuedCertificate;
let serverA: IssuedCertificate;
let serverB: IssuedCertificate;
let serverC: IssuedCertificate;
let client: IssuedCertificate;
let selfSigned: IssuedCertificate;
/** An HTTP backend that answers with what it saw: proto, host, method, body. */
let echo: TestBackend;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-tls-'));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const hosts = ['localhost', '127.0.0.1'];
  ca = await issueCertificate({ commonName: 'Outrigger Test CA', ca: true });
  [serverA, serverB, serverC, client, selfSigned] = await Promise.all([
    issueCertificate({ commonName: 'server-a', hosts, issuer: ca }),
    issueCertificate({ commonName: 'server-b', hosts, issuer: ca }),
    issueCertificate({ commonName: 'server-c', hosts, issuer: ca }),
    issueCertificate({ commonName: 'outrigger-client', usage: 'client', issuer: ca }),
    issueCertificate({ commonName: 'self-signed', hosts }),
  ]);
  echo = await new TestBackend('echo', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      if (req.url === '/h2/awkward') {
        // What HTTP/2 cannot carry as it is: a repeated single-value header, connection-specific
        // headers (node:http adds Connection and Keep-Alive itself), trailers announced in Trailer.
        res.writeHead(200, ['Date', 'Thu, 01 Jan 2026 00:00:00 GMT', 'Date', 'Fri, 02 Jan 2026 00:00:00 GMT', 'Content-Type', 'text/plain',
          'Trailer', 'X-Sum', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
        res.addTrailers({ 'X-Sum': '42' });
        res.end('awkward');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Backend': 'echo' });
      res.end(JSON.stringify({
        proto: req.headers['x-forwarded-proto'], host: req.headers.host, method: req.method, url: req.url,
        cookie: req.headers.cookie, body: Buffer.concat(chunks).toString(),
      }));
    });
  }).listen();
  cleanup.push(() => echo.close());
});

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** Start outrigger and wait for its "listening on https://" (or http://) line. */
async function start(args: readonly string[], scheme: 'https' | 'http' = 'https'): Promise<Outrigger> {
  const o = new Outrigger(args);
  cleanup.push(() => o.stop());
  const listening = new RegExp(`listening on ${scheme}://\\S+:(\\d+)`);
  await waitFor(() => listening.test(o.stdout) || o.proc.exitCode !== null, 10_000, 'outrigger to listen');
  const m = listening.exec(o.stdout);
  if (m === null) throw new Error(`outrigger did not start (exit ${o.proc.exitCode}):\n${o.stderr}${o.stdout}`);
  o.port = Number(m[1]);
  return o;
}

/** The certificate a fresh TLS connection is served, unverified. */
function servedFingerprint(port: number, options: tls.ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
      const fp = s.getPeerX509Certificate()?.fingerprint256 ?? '';
      s.end();
      resolve(fp);
    });
    s.once('error', reject);
  });
}

/** A request on a fresh connection, verifying the server against `caPem`. */
function get(url: string, options: https.RequestOptions = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.request(url, { agent: false, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });
}

/** Poll new connections until the served certificate is `expected`. */
async function waitForCertificate(port: number, expected: IssuedCertificate, what: string): Promise<void> {
  let seen = '';
  await waitFor(async () => (seen = await servedFingerprint(port)) === expected.fingerprint256, 10_000, `${what} (still serving ${seen})`, 50);
}

describe('serving TLS with --cert/--key', () => {
  test('proxies HTTPS, and a certificate overwritten in place is served on the next connection (a broken pair is not)', async () => {
    const cert = write('plain.crt', serverA.cert);
    const key = write('plain.key', serverA.key);
    const o = await start(['--cert', cert, '--key', key, echo.url]);
    const r = await get(`https://localhost:${o.port}/hello?x=1`, { ca: ca.cert });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.text) as Record<string, string>;
    assert.equal(seen['proto'], 'https', 'X-Forwarded-Proto');
    assert.equal(seen['url'], '/hello?x=1');
    assert.equal(r.headers['x-proxy'], 'true');
    assert.equal(await servedFingerprint(o.port), serverA.fingerprint256);

    fs.writeFileSync(cert, serverB.cert);
    fs.writeFileSync(key, serverB.key);
    await waitForCertificate(o.port, serverB, 'the overwritten certificate');
    await waitFor(() => /TLS certificate reloaded/.test(o.stdout), 20_000, 'the reload log line');

    // Certificate C with B's key: refused, B stays.
    fs.writeFileSync(cert, serverC.cert);
    await waitFor(() => /TLS certificate not reloaded, keeping the current certificate: .*is not the private key/.test(o.stdout), 10_000, 'the refusal');
    assert.equal(await servedFingerprint(o.port), serverB.fingerprint256);
    // The matching key arriving afterwards completes the pair.
    fs.writeFileSync(key, serverC.key);
    await waitForCertificate(o.port, serverC, 'the completed pair');
  });

  test('follows a Kubernetes secret mount: the ..data symlink swapped to a new directory', async () => {
    const mount = path.join(dir, 'secret');
    const version = (name: string, pair: IssuedCertificate): void => {
      fs.mkdirSync(path.join(mount, name), { recursive: true });
      fs.writeFileSync(path.join(mount, name, 'tls.crt'), pair.cert);
      fs.writeFileSync(path.join(mount, name, 'tls.key'), pair.key);
    };
    version('..2026_01_01_00_00_00.1', serverA);
    fs.symlinkSync('..2026_01_01_00_00_00.1', path.join(mount, '..data'));
    fs.symlinkSync('..data/tls.crt', path.join(mount, 'tls.crt'));
    fs.symlinkSync('..data/tls.key', path.join(mount, 'tls.key'));
    const o = await start(['--cert', path.join(mount, 'tls.crt'), '--key', path.join(mount, 'tls.key'), echo.url]);
    assert.equal(await servedFingerprint(o.port), serverA.fingerprint256);
    // What the kubelet's atomic writer does: new directory, new symlink, renamed over ..data, old directory removed.
    version('..2026_01_02_00_00_00.2', serverB);
    fs.symlinkSync('..2026_01_02_00_00_00.2', path.join(mount, '..data_tmp'));
    fs.renameSync(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
    fs.rmSync(path.join(mount, '..2026_01_01_00_00_00.1'), { recursive: true });
    await waitForCertificate(o.port, serverB, 'the swapped certificate');
    const r = await get(`https://127.0.0.1:${o.port}/after-swap`, { ca: ca.cert });
    assert.equal(r.status, 200);
  });
});

describe('--auto-tls-host, and HTTP/2', () => {
  let o: Outrigger;
  let fingerprint = '';
  before(async () => {
    o = await start(['--auto-tls-host', 'localhost,127.0.0.1', echo.url]);
    await o.output(/auto-TLS certificate SHA-256 fingerprint: ([0-9A-F:]{95})/);
    fingerprint = /auto-TLS certificate SHA-256 fingerprint: ([0-9A-F:]{95})/.exec(o.stdout)![1]!;
  });

  test('prints the fingerprint of the certificate it serves, and serves its PEM at /v1/certificates', async () => {
    assert.equal(await servedFingerprint(o.port), fingerprint);
    const unverified = await get(`https://127.0.0.1:${o.port}/v1/certificates`, { rejectUnauthorized: false });
    assert.equal(unverified.status, 200);
    const pem = unverified.text;
    assert.equal(new X509Certificate(pem).fingerprint256, fingerprint);
    assert.match(new X509Certificate(pem).subjectAltName ?? '', /DNS:localhost, IP Address:127\.0\.0\.1/);
    // That PEM is all a client needs to verify the proxy, by IP and by name.
    for (const host of ['127.0.0.1', 'localhost']) {
      const r = await get(`https://${host}:${o.port}/trusted`, { ca: pem });
      assert.equal(r.status, 200, host);
      assert.equal((JSON.parse(r.text) as Record<string, string>)['proto'], 'https');
    }
  });

  test('an HTTP/2 client (ALPN h2) reaches the backend; HTTP/1.1 is still offered', async () => {
    const pem = (await get(`https://127.0.0.1:${o.port}/v1/certificates`, { rejectUnauthorized: false })).text;
    const session = http2.connect(`https://localhost:${o.port}`, { ca: pem });
    cleanup.push(() => closeSession(session));
    type H2Reply = { headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; text: string };
    const call = (headers: http2.OutgoingHttpHeaders, body?: string): Promise<H2Reply> =>
      new Promise((resolve, reject) => {
        const stream = session.request(headers, { endStream: body === undefined });
        const chunks: Buffer[] = [];
        let head: http2.IncomingHttpHeaders = {};
        let trailers: http2.IncomingHttpHeaders = {};
        stream.on('response', (h) => { head = h; });
        stream.on('trailers', (t) => { trailers = t; });
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.once('end', () => resolve({ headers: head, trailers, text: Buffer.concat(chunks).toString() }));
        stream.once('error', reject);
        if (body !== undefined) stream.end(body);
      });
    const got = await call({ ':path': '/h2/get?q=1', cookie: 'a=1' });
    assert.equal(session.alpnProtocol, 'h2');
    assert.equal(got.headers[':status'], 200);
    assert.equal(got.headers['x-proxy'], 'true');
    assert.equal(got.headers['x-backend'], 'echo');
    const seen = JSON.parse(got.text) as Record<string, string>;
    assert.deepEqual([seen['method'], seen['url'], seen['proto'], seen['host']], ['GET', '/h2/get?q=1', 'https', `localhost:${o.port}`]);
    // A body without Content-Length (HTTP/2 ends it with END_STREAM) is relayed whole.
    const posted = await call({ ':method': 'POST', ':path': '/h2/post' }, 'x'.repeat(100_000));
    assert.equal(posted.headers[':status'], 200);
    assert.equal((JSON.parse(posted.text) as Record<string, string>)['body'], 'x'.repeat(100_000));
    const awkward = await call({ ':path': '/h2/awkward' });
    assert.equal(awkward.headers[':status'], 200);
    assert.equal(awkward.text, 'awkward');
    assert.equal(awkward.headers['date'], 'Thu, 01 Jan 2026 00:00:00 GMT', 'the first of two Date headers');
    assert.deepEqual(awkward.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(awkward.headers['connection'], undefined);
    assert.equal(awkward.headers['keep-alive'], undefined);
    assert.equal(awkward.trailers['x-sum'], '42');
    const health = await call({ ':path': '/v1/health' });
    assert.equal(health.headers[':status'], 200);
    assert.equal(health.text, 'OK\n');
    // Requests on one session in parallel.
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => call({ ':path': `/h2/many/${i}` })));
    assert.deepEqual(many.map((r) => (JSON.parse(r.text) as Record<string, string>)['url']), Array.from({ length: 20 }, (_, i) => `/h2/many/${i}`));
    session.close();
    assert.doesNotMatch(o.stderr, /Warning|Error/, 'nothing on stderr (no status-message or listener warnings)');
    // A client that offers only HTTP/1.1 gets it.
    assert.equal(await new Promise<string | false | null>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: o.port, ca: pem, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => {
        resolve(s.alpnProtocol);
        s.end();
      });
      s.once('error', reject);
    }), 'http/1.1');
  });
});

test('SIGTERM closes idle HTTP/2 and HTTP/1.1 TLS connections gracefully: nothing is left to cut', async () => {
  const o = await start(['--auto-tls-host', '127.0.0.1', '--shutdown-timeout', '20s', echo.url]);
  const session = http2.connect(`https://127.0.0.1:${o.port}`, { rejectUnauthorized: false });
  cleanup.push(() => closeSession(session));
  const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const stream = session.request({ ':path': '/before-sigterm' });
    stream.resume();
    stream.once('end', resolve);
    stream.once('error', reject);
  });
  const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
  cleanup.push(() => agent.destroy());
  assert.equal((await get(`https://127.0.0.1:${o.port}/keep-alive`, { agent })).status, 200);
  o.signal('SIGTERM');
  await goaway;
  assert.equal(await o.exit(), 0);
  assert.doesNotMatch(o.stdout, /shutdown timeout: closed/);
});

test('--tls-max 1.2: a TLS 1.3-only client is refused, a TLS 1.2 client is served', async () => {
  const o = await start(['--auto-tls-host', '127.0.0.1', '--tls-max', '1.2', echo.url]);
  await assert.rejects(servedFingerprint(o.port, { minVersion: 'TLSv1.3' }), /protocol|version/i);
  const protocol = await new Promise<string | null>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: o.port, rejectUnauthorized: false, maxVersion: 'TLSv1.2' }, () => {
      resolve(s.getProtocol());
      s.end();
    });
    s.once('error', reject);
  });
  assert.equal(protocol, 'TLSv1.2');
  const r = await get(`https://127.0.0.1:${o.port}/v12`, { rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
  assert.equal(r.status, 200);
});

describe('https backends', () => {
  /** An https backend with `pair`; with `requireClient`, only clients with a certificate from the test CA get in. */
  async function httpsBackend(pair: IssuedCertificate, requireClient: boolean): Promise<string> {
    const server = https.createServer({ cert: pair.cert, key: pair.key, ...(requireClient ? { ca: ca.cert, requestCert: true, rejectUnauthorized: true } : {}) }, (req, res) => {
      const peer = (req.socket as tls.TLSSocket).getPeerX509Certificate();
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(req.url === '/health' ? 'ok' : `secure backend; client ${peer?.subject.replace(/^CN=/, '') ?? 'anonymous'}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
    return `https://localhost:${(server.address() as AddressInfo).port}`;
  }

  let mtls = '';
  let selfSignedUrl = '';
  let files: { ca: string; cert: string; key: string };
  before(async () => {
    [mtls, selfSignedUrl] = await Promise.all([httpsBackend(serverA, true), httpsBackend(selfSigned, false)]);
    files = { ca: write('ca.pem', ca.cert), cert: write('client.crt', client.cert), key: write('client.key', client.key) };
  });

  test('mutual TLS with --cacert --client-cert --client-key', async () => {
    const o = await start(['--health-path', '/health', '--log',
      '--cacert', files.ca, '--client-cert', files.cert, '--client-key', files.key, mtls], 'http');
    const r = await get(`http://127.0.0.1:${o.port}/object`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, 'secure backend; client outrigger-client');
    assert.match(o.stdout, /backend TLS: 1 CA certificate\(s\) from .* added to the roots, client certificate/);
  });

  test('without the client certificate the backend is refused: marked down, the client gets the 502 XML', async () => {
    const o = await start(['--health-path', '/health', '--log', '--cacert', files.ca, mtls], 'http');
    await waitFor(() => / is down: /.test(o.stdout), 10_000, 'the backend to be marked down');
    const r = await get(`http://127.0.0.1:${o.port}/object`);
    assert.equal(r.status, 502);
    assert.match(r.text, /<Code>BackendDown<\/Code>/);
    // The health probe's handshake is refused with TLS 1.3's "certificate required" alert, said in words.
    assert.match(o.stdout, new RegExp(`${mtls.replace(/[.:/]/g, '\\$&')} is down: TLS handshake failed: the backend requires a client certificate`));
  });

  test('a self-signed backend is refused without --insecure, and let through with it', async () => {
    const strict = await start(['--health-path', '/health', '--log', selfSignedUrl], 'http');
    await waitFor(() => / is down: /.test(strict.stdout), 10_000, 'the backend to be marked down');
    assert.match(strict.stdout, /is down: .*self-signed certificate/i);
    assert.equal((await get(`http://127.0.0.1:${strict.port}/x`)).status, 502);
    {
      const lax = await start(['--health-path', '/health', '--insecure', selfSignedUrl], 'http');
      const r = await get(`http://127.0.0.1:${lax.port}/x`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.text, 'secure backend; client anonymous');
    }
  });
});

test('missing or bad TLS files stop the start with a message naming the flag and the file', async () => {
  const garbage = write('garbage.pem', 'not a certificate\n');
  const cert = write('bad-pair.crt', serverA.cert);
  const otherKey = write('bad-pair.key', serverB.key);
  const missing = path.join(dir, 'no-such-file.pem');
  const site = 'http://127.0.0.1:9';
  const cases: [string[], RegExp][] = [
    [['--cert', cert], /--cert needs --key/],
    [['--key', otherKey], /--key needs --cert/],
    [['--cert', missing, '--key', otherKey], /--cert .*no-such-file\.pem: cannot read it \(no such file\)/],
    [['--cert', cert, '--key', otherKey], /--key .*bad-pair\.key is not the private key of the certificate in --cert .*bad-pair\.crt/],
    [['--cert', garbage, '--key', otherKey], /--cert .*garbage\.pem: no PEM certificate in it/],
    [['--cacert', garbage], /--cacert .*garbage\.pem: no PEM certificate in it/],
    [['--cacert', missing], /--cacert .*no-such-file\.pem: cannot read it/],
    [['--client-cert', cert], /--client-cert needs --client-key/],
    [['--client-cert', cert, '--client-key', garbage], /--client-key .*garbage\.pem: not a PEM private key/],
    [['--auto-tls-host', 'localhost', '--cert', cert, '--key', otherKey], /--auto-tls-host and --cert\/--key/],
    [['--auto-tls-host', 'bad host!'], /--auto-tls-host: "bad host!" is neither a host name nor an IP address/],
    [['--tls-max', '1.1', '--auto-tls-host', 'localhost'], /--tls-max: "1\.1" must be one of 1\.2, 1\.3/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli([...args, site])));
  for (const [i, r] of results.entries()) {
    const [args, pattern] = cases[i]!;
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, pattern, args.join(' '));
    assert.doesNotMatch(r.stderr, /^\s+at /m, `no stack trace for ${args.join(' ')}`);
  }
});
