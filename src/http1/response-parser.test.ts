import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytes, parseGrowing, parseOnce } from './harness.js';
import { PARSE_ERROR, PARSE_NEED_MORE } from './head-parser.js';
import { FLAG_CONNECTION_LISTED } from './header-kinds.js';
import { Body } from './message-head.js';
import type { BodyKind } from './message-head.js';
import { ResponseHeadParser } from './response-parser.js';

function parsed(raw: string, method = 'GET'): ResponseHeadParser {
  const parser = new ResponseHeadParser();
  const r = parser.parse(bytes(raw), 0, method);
  assert.ok(r > 0, `${JSON.stringify(raw)}: ${r} ${parser.error?.code}`);
  return parser;
}

test('status line with reason, empty reason, or no space before an empty reason', () => {
  const cases: Array<[string, number, string]> = [
    ['HTTP/1.1 200 OK', 200, 'OK'],
    ['HTTP/1.1 404 Not Found', 404, 'Not Found'],
    ['HTTP/1.1 200 ', 200, ''],
    ['HTTP/1.1 200', 200, ''],
    ['HTTP/1.0 503 Service \xfcnavailable', 503, 'Service \xfcnavailable'],
    ['HTTP/1.1 599 x', 599, 'x'],
  ];
  for (const [line, code, reason] of cases) {
    const h = parsed(`${line}\r\nContent-Length: 0\r\n\r\n`).head;
    assert.equal(h.statusCode, code);
    assert.equal(h.reason, reason);
  }
});

const REJECTED: ReadonlyArray<readonly [string, string, string]> = [
  ['two-digit status', 'HTTP/1.1 20 OK\r\n\r\n', 'BAD_STATUS_LINE'],
  ['four-digit status', 'HTTP/1.1 2000 OK\r\n\r\n', 'BAD_STATUS_LINE'],
  ['status below 100', 'HTTP/1.1 099 X\r\n\r\n', 'BAD_STATUS_LINE'],
  ['letters in status', 'HTTP/1.1 2x0 OK\r\n\r\n', 'BAD_STATUS_LINE'],
  ['double space', 'HTTP/1.1  200 OK\r\n\r\n', 'BAD_STATUS_LINE'],
  ['HTTP/2', 'HTTP/2 200 OK\r\n\r\n', 'BAD_VERSION'],
  ['HTTP/2.0', 'HTTP/2.0 200 OK\r\n\r\n', 'UNSUPPORTED_VERSION'],
  ['not HTTP', 'ICY 200 OK\r\n\r\n', 'BAD_VERSION'],
  ['control char in reason', 'HTTP/1.1 200 O\x01K\r\n\r\n', 'BAD_STATUS_LINE'],
  ['bare LF status line', 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n', 'BARE_LF'],
  ['bare LF header', 'HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n', 'BARE_LF'],
  ['CR alone', 'HTTP/1.1 200 OK\rX: 1\r\n\r\n', 'BARE_CR'],
  ['obs-fold', 'HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n', 'OBS_FOLD'],
  ['space before colon', 'HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n', 'SPACE_BEFORE_COLON'],
  ['NUL in value', 'HTTP/1.1 200 OK\r\nX: \0\r\n\r\n', 'BAD_HEADER_VALUE'],
  ['bad header name', 'HTTP/1.1 200 OK\r\nX(Y): 1\r\n\r\n', 'BAD_HEADER_NAME'],
  ['CL with TE', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', 'CONTENT_LENGTH_WITH_TRANSFER_ENCODING'],
  ['duplicate CL', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n', 'DUPLICATE_CONTENT_LENGTH'],
  ['signed CL', 'HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n', 'BAD_CONTENT_LENGTH'],
  ['bad CL on a 304', 'HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n', 'BAD_CONTENT_LENGTH'],
  ['chunked twice', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n', 'BAD_TRANSFER_ENCODING'],
  ['TE parameter', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip;level=1\r\n\r\n', 'BAD_TRANSFER_ENCODING'],
];

for (const [name, raw, code] of REJECTED) {
  test(`rejects response: ${name}`, () => {
    const parser = new ResponseHeadParser();
    assert.equal(parser.parse(bytes(raw), 0), PARSE_ERROR, JSON.stringify(raw));
    assert.equal(parser.error?.code, code);
    assert.equal(parser.error?.status, 502, 'a bad upstream response is answered with 502');
    assert.deepEqual(parseGrowing(parser, bytes(raw)), parseOnce(parser, bytes(raw)));
  });
}

/** [request method, status line + headers, body kind, content length] */
const FRAMING: ReadonlyArray<readonly [string, string, BodyKind, number]> = [
  ['HEAD', 'HTTP/1.1 200 OK\r\nContent-Length: 10', Body.NONE, 10],
  ['HEAD', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked', Body.NONE, -1],
  ['GET', 'HTTP/1.1 100 Continue', Body.NONE, -1],
  ['GET', 'HTTP/1.1 103 Early Hints\r\nLink: </a>', Body.NONE, -1],
  ['GET', 'HTTP/1.1 204 No Content\r\nContent-Length: 10', Body.NONE, 10],
  ['GET', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 1234', Body.NONE, 1234],
  ['CONNECT', 'HTTP/1.1 200 Connection Established\r\nContent-Length: 10', Body.NONE, 10],
  ['CONNECT', 'HTTP/1.1 407 Proxy Auth\r\nContent-Length: 10', Body.FIXED, 10],
  ['GET', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked', Body.CHUNKED, -1],
  ['GET', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked', Body.CHUNKED, -1],
  ['GET', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip', Body.CLOSE, -1],
  ['GET', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip', Body.CLOSE, -1],
  ['GET', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: br, chunked', Body.CHUNKED, -1],
  ['GET', 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked', Body.CLOSE, -1],
  ['GET', 'HTTP/1.1 200 OK\r\nContent-Length: 42', Body.FIXED, 42],
  ['GET', 'HTTP/1.1 200 OK\r\nContent-Length: 0', Body.NONE, 0],
  ['GET', 'HTTP/1.1 200 OK', Body.CLOSE, -1],
  ['POST', 'HTTP/1.1 500 Oops\r\nContent-Type: text/plain', Body.CLOSE, -1],
];

test('body framing per RFC 9112 §6.3', () => {
  for (const [method, head, kind, length] of FRAMING) {
    const raw = `${head}\r\n\r\n`;
    const h = parsed(raw, method).head;
    assert.deepEqual([h.bodyKind, h.contentLength], [kind, length], `${method} ${head}`);
    if (kind === Body.CLOSE) assert.equal(h.keepAlive, false, 'a close-delimited body ends the connection');
    const parser = new ResponseHeadParser();
    const parse = (b: Buffer, s: number): number => parser.parse(b, s, method);
    assert.deepEqual(parseGrowing(parser, bytes(raw), 0, 1, parse), parseOnce(parser, bytes(raw), 0, parse));
  }
});

test('connection persistence', () => {
  assert.equal(parsed('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').head.keepAlive, true);
  assert.equal(parsed('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').head.keepAlive, false);
  assert.equal(parsed('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').head.keepAlive, false);
  const ka = parsed('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').head;
  assert.equal(ka.keepAlive, true);
  assert.equal(ka.connectionKeepAlive, true);
});

test('101 Switching Protocols', () => {
  const h = parsed('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n').head;
  assert.equal(h.switchingProtocols, true);
  assert.equal(h.informational, true);
  assert.equal(h.upgradeValue, 'websocket');
  assert.equal(h.connectionUpgrade, true);
  assert.equal(h.bodyKind, Body.NONE);
  assert.equal(h.keepAlive, false);
});

test('2xx to CONNECT is a tunnel', () => {
  const h = parsed('HTTP/1.1 200 OK\r\n\r\n', 'CONNECT').head;
  assert.equal(h.connectTunnel, true);
  assert.equal(h.keepAlive, false);
});

test('Trailer presence and Connection-listed names', () => {
  const h = parsed('HTTP/1.1 200 OK\r\nTrailer: X-Checksum\r\nConnection: X-Internal\r\nX-Internal: 1\r\nTransfer-Encoding: chunked\r\n\r\n').head;
  assert.equal(h.hasTrailerHeader, true);
  assert.deepEqual(h.connectionNameList(), ['x-internal']);
  assert.ok((h.flags[2]! & FLAG_CONNECTION_LISTED) !== 0);
  assert.equal(h.flags[3]! & FLAG_CONNECTION_LISTED, 0);
});

test('a 100 Continue followed by the final response in one buffer', () => {
  const buf = bytes('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok');
  const parser = new ResponseHeadParser();
  const first = parser.parse(buf, 0, 'PUT');
  assert.equal(parser.head.statusCode, 100);
  assert.equal(parser.head.informational, true);
  const second = parser.parse(buf, first, 'PUT');
  assert.equal(parser.head.statusCode, 201);
  assert.equal(parser.head.headStart, first);
  assert.equal(buf.length - second, 2);
});

test('incomplete responses ask for more; empty lines before a status line are refused', () => {
  const raw = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
  for (let len = 0; len < raw.length; len++) {
    assert.equal(new ResponseHeadParser().parse(bytes(raw.slice(0, len)), 0), PARSE_NEED_MORE);
  }
  const p = new ResponseHeadParser();
  assert.equal(p.parse(bytes('\r\n' + raw), 0), PARSE_ERROR);
});

test('response heads over the limit', () => {
  const p = new ResponseHeadParser({ maxHeadSize: 32 });
  assert.equal(p.parse(bytes(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(40)}\r\n\r\n`), 0), PARSE_ERROR);
  assert.deepEqual([p.error?.code, p.error?.status], ['HEAD_TOO_LARGE', 502]);
});
