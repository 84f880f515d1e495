/**
 * Micro-benchmark of the head parsers and the chunked walker, with Node's llhttp binding
 * (the parser node:http uses, called the way node:http calls it) as a yardstick. Not a test.
 *
 *   npx tsc -p tsconfig.json && node dist/src/http1/parse-bench.js
 */
import { ChunkedWalker } from './chunked-walker.js';
import { RequestHeadParser } from './request-parser.js';
import { ResponseHeadParser } from './response-parser.js';

const REQUEST = Buffer.from(
  'GET /bucket/some/object/key.bin?versionId=3f2a&partNumber=2 HTTP/1.1\r\n' +
  'Host: minio.example.com:9000\r\n' +
  'User-Agent: MinIO (linux; amd64) minio-go/v7.0.70\r\n' +
  'Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024\r\n' +
  'X-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\n' +
  'X-Amz-Date: 20240101T000000Z\r\n' +
  'Accept-Encoding: gzip\r\n' +
  'Range: bytes=0-1048575\r\n' +
  'Connection: keep-alive\r\n\r\n', 'latin1');

const RESPONSE = Buffer.from(
  'HTTP/1.1 206 Partial Content\r\n' +
  'Accept-Ranges: bytes\r\nContent-Length: 1048576\r\nContent-Range: bytes 0-1048575/9999999\r\n' +
  'Content-Type: application/octet-stream\r\nETag: "d41d8cd98f00b204e9800998ecf8427e"\r\n' +
  'Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\nServer: MinIO\r\nStrict-Transport-Security: max-age=31536000; includeSubDomains\r\n' +
  'Vary: Origin\r\nX-Amz-Request-Id: 17A0B0C0D0E0F000\r\nX-Content-Type-Options: nosniff\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n', 'latin1');

function rate(label: string, iterations: number, bytes: number, fn: () => void): void {
  for (let i = 0; i < iterations / 10; i++) fn(); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const perSec = iterations / s;
  console.log(`${label.padEnd(34)} ${(perSec / 1e6).toFixed(2)} M/s  ${(1e9 / perSec).toFixed(0)} ns each  ${((perSec * bytes) / 2 ** 20).toFixed(0)} MiB/s`);
}

function benchOurs(n: number): void {
  const req = new RequestHeadParser();
  rate(`request head (${REQUEST.length} B, 8 headers)`, n, REQUEST.length, () => {
    if (req.parse(REQUEST, 0) !== REQUEST.length) throw new Error('request parse failed');
  });
  const res = new ResponseHeadParser();
  rate(`response head (${RESPONSE.length} B, 12 headers)`, n, RESPONSE.length, () => {
    if (res.parse(RESPONSE, 0, 'GET') !== RESPONSE.length) throw new Error('response parse failed');
  });
}

function benchWalker(n: number): void {
  const chunk = Buffer.concat([Buffer.from('4000\r\n'), Buffer.alloc(0x4000, 0x61), Buffer.from('\r\n')]);
  const body = Buffer.concat([...Array<Buffer>(64).fill(chunk), Buffer.from('0\r\n\r\n')]);
  const walker = new ChunkedWalker();
  rate(`chunked body (${body.length >> 10} KiB, 64 chunks)`, n / 100, body.length, () => {
    walker.reset();
    if (walker.feed(body) !== body.length || !walker.done) throw new Error('walk failed');
  });
}

/** llhttp through its internal binding, as node:http drives it (headers handed to JS per message). */
function benchLlhttp(n: number): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const binding = (process as any).binding('http_parser');
  const { HTTPParser } = binding;
  for (const [label, type, buf] of [['llhttp request head', HTTPParser.REQUEST, REQUEST], ['llhttp response head', HTTPParser.RESPONSE, RESPONSE]] as const) {
    const parser = new HTTPParser();
    parser.initialize(type, {}, 0, 0);
    let complete = 0;
    parser[HTTPParser.kOnHeadersComplete] = () => { complete++; return 1; }; // 1: skip body (like a HEAD answer)
    parser[HTTPParser.kOnMessageComplete] = () => undefined;
    parser[HTTPParser.kOnExecute] = () => undefined;
    rate(label, n, buf.length, () => {
      const r = parser.execute(buf);
      if (typeof r !== 'number') throw r as Error;
      parser.initialize(type, {}, 0, 0);
    });
    if (complete === 0) throw new Error('llhttp parsed nothing');
  }
}

const n = Number(process.argv[2] ?? 1_000_000);
process.removeAllListeners('warning'); // process.binding prints a deprecation warning
benchOurs(n);
benchWalker(n);
benchLlhttp(n);
