import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytes, parseGrowing, parseOnce } from './harness.js';
import { PARSE_ERROR, PARSE_NEED_MORE } from './head-parser.js';
import { FLAG_CONNECTION_LISTED, FLAG_HOP_BY_HOP, HeaderKind } from './header-kinds.js';
import { Body, FIELD_STRIDE, LINE_END, NAME_START } from './message-head.js';
import { RequestHeadParser } from './request-parser.js';

const H = 'Host: example.com\r\n';

/** [name, raw head, expected code, expected status] */
const REJECTED: ReadonlyArray<readonly [string, string, string, number]> = [
  ['CL with TE', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`, 'CONTENT_LENGTH_WITH_TRANSFER_ENCODING', 400],
  ['TE with CL', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n`, 'CONTENT_LENGTH_WITH_TRANSFER_ENCODING', 400],
  ['duplicate CL, different', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\n`, 'DUPLICATE_CONTENT_LENGTH', 400],
  ['duplicate CL, same', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\ncontent-length: 5\r\n\r\n`, 'DUPLICATE_CONTENT_LENGTH', 400],
  ['CL list, different', `POST / HTTP/1.1\r\n${H}Content-Length: 5, 6\r\n\r\n`, 'BAD_CONTENT_LENGTH', 400],
  ['CL list, same', `POST / HTTP/1.1\r\n${H}Content-Length: 5,5\r\n\r\n`, 'BAD_CONTENT_LENGTH', 400],
  ['CL signed +', `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\n`, 'BAD_CONTENT_LENGTH', 400],
  ['CL signed -', `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, 'BAD_CONTENT_LENGTH', 400],
  ['CL not numeric', `POST / HTTP/1.1\r\n${H}Content-Length: abc\r\n\r\n`, 'BAD_CONTENT_LENGTH', 400],
  ['CL hex', `POST / HTTP/1.1\r\n${H}Content-Length: 0x10\r\n\r\n`, 'BAD_CONTENT_LENGTH', 400],
  ['CL empty', `POST / HTTP/1.1\r\n${H}Content-Length:\r\n\r\n`, 'BAD_CONTENT_LENGTH', 400],
  ['CL inner space', `POST / HTTP/1.1\r\n${H}Content-Length: 1 2\r\n\r\n`, 'BAD_CONTENT_LENGTH', 400],
  ['CL 17 digits', `POST / HTTP/1.1\r\n${H}Content-Length: 00000000000000005\r\n\r\n`, 'BAD_CONTENT_LENGTH', 400],
  ['CL over 2^53', `POST / HTTP/1.1\r\n${H}Content-Length: 9007199254740992\r\n\r\n`, 'BAD_CONTENT_LENGTH', 400],
  ['TE chunked not last', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`, 'BAD_TRANSFER_ENCODING', 400],
  ['TE without chunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`, 'BAD_TRANSFER_ENCODING', 400],
  ['TE unknown only', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: foo\r\n\r\n`, 'BAD_TRANSFER_ENCODING', 400],
  ['TE unknown then chunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: foo, chunked\r\n\r\n`, 'UNSUPPORTED_TRANSFER_ENCODING', 501],
  ['TE chunked twice', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n`, 'BAD_TRANSFER_ENCODING', 400],
  ['TE chunked on two lines twice', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`, 'BAD_TRANSFER_ENCODING', 400],
  ['TE lines chunked then gzip', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n`, 'BAD_TRANSFER_ENCODING', 400],
  ['TE parameter', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked;q=1\r\n\r\n`, 'BAD_TRANSFER_ENCODING', 400],
  ['TE empty element first', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: , chunked\r\n\r\n`, 'BAD_TRANSFER_ENCODING', 400],
  ['TE empty element last', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked,\r\n\r\n`, 'BAD_TRANSFER_ENCODING', 400],
  ['TE empty', `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n\r\n`, 'BAD_TRANSFER_ENCODING', 400],
  ['TE xchunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n`, 'BAD_TRANSFER_ENCODING', 400],
  ['TE chunked with inner space', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chun ked\r\n\r\n`, 'BAD_TRANSFER_ENCODING', 400],
  ['TE trailing tab (llhttp: not chunked)', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\t\r\n\r\n`, 'BAD_TRANSFER_ENCODING', 400],
  ['CL trailing tab (llhttp: invalid)', `POST / HTTP/1.1\r\n${H}Content-Length: 1 \t \r\n\r\n`, 'BAD_CONTENT_LENGTH', 400],
  ['TE in HTTP/1.0', `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n`, 'BAD_TRANSFER_ENCODING', 400],
  ['obs-fold', `GET / HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n`, 'OBS_FOLD', 400],
  ['obs-fold with tab', `GET / HTTP/1.1\r\n${H}X-A: a\r\n\tb\r\n\r\n`, 'OBS_FOLD', 400],
  ['whitespace before first header', `GET / HTTP/1.1\r\n ${H}\r\n`, 'OBS_FOLD', 400],
  ['space before colon', `GET / HTTP/1.1\r\nHost : a\r\n\r\n`, 'SPACE_BEFORE_COLON', 400],
  ['tab before colon', `GET / HTTP/1.1\r\n${H}Transfer-Encoding\t: chunked\r\n\r\n`, 'SPACE_BEFORE_COLON', 400],
  ['bare LF after request line', `GET / HTTP/1.1\n${H}\r\n`, 'BARE_LF', 400],
  ['bare LF after header', `GET / HTTP/1.1\r\nHost: a\n\r\n`, 'BARE_LF', 400],
  ['bare LF ending head', `GET / HTTP/1.1\r\n${H}\n`, 'BARE_LF', 400],
  ['bare LF everywhere', `GET / HTTP/1.1\nHost: a\n\n`, 'BARE_LF', 400],
  ['CR inside value', `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`, 'BARE_CR', 400],
  ['CR ending request line alone', `GET / HTTP/1.1\rHost: a\r\n\r\n`, 'BARE_CR', 400],
  ['CR ending head alone', `GET / HTTP/1.1\r\n${H}\rX`, 'BARE_CR', 400],
  ['NUL in value', `GET / HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`, 'BAD_HEADER_VALUE', 400],
  ['control char in value', `GET / HTTP/1.1\r\n${H}X-A: \x01\r\n\r\n`, 'BAD_HEADER_VALUE', 400],
  ['DEL in value', `GET / HTTP/1.1\r\n${H}X-A: a\x7f\r\n\r\n`, 'BAD_HEADER_VALUE', 400],
  ['ESC in value', `GET / HTTP/1.1\r\n${H}X-A: \x1b[1m\r\n\r\n`, 'BAD_HEADER_VALUE', 400],
  ['non-token method', `G(T / HTTP/1.1\r\n${H}\r\n`, 'BAD_METHOD', 400],
  ['NUL in method', `GE\0T / HTTP/1.1\r\n${H}\r\n`, 'BAD_METHOD', 400],
  ['non-token header name', `GET / HTTP/1.1\r\n${H}X(A): 1\r\n\r\n`, 'BAD_HEADER_NAME', 400],
  ['non-ASCII header name', `GET / HTTP/1.1\r\n${H}X-\xe9: 1\r\n\r\n`, 'BAD_HEADER_NAME', 400],
  ['empty header name', `GET / HTTP/1.1\r\n${H}: 1\r\n\r\n`, 'BAD_HEADER_NAME', 400],
  ['header without colon', `GET / HTTP/1.1\r\n${H}X-A\r\n\r\n`, 'BAD_HEADER_NAME', 400],
  ['missing Host on 1.1', `GET / HTTP/1.1\r\n\r\n`, 'MISSING_HOST', 400],
  ['duplicate Host', `GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`, 'DUPLICATE_HOST', 400],
  ['duplicate Host, same value, other case', `GET / HTTP/1.1\r\nHost: a\r\nhOST: a\r\n\r\n`, 'DUPLICATE_HOST', 400],
  ['Host with slash', `GET / HTTP/1.1\r\nHost: a/b\r\n\r\n`, 'BAD_HOST', 400],
  ['Host with userinfo', `GET / HTTP/1.1\r\nHost: u@a\r\n\r\n`, 'BAD_HOST', 400],
  ['Host with space', `GET / HTTP/1.1\r\nHost: a b\r\n\r\n`, 'BAD_HOST', 400],
  ['double space after method', `GET  / HTTP/1.1\r\n${H}\r\n`, 'BAD_REQUEST_LINE', 400],
  ['double space before version', `GET /  HTTP/1.1\r\n${H}\r\n`, 'BAD_REQUEST_LINE', 400],
  ['space after version', `GET / HTTP/1.1 \r\n${H}\r\n`, 'BAD_REQUEST_LINE', 400],
  ['leading space', ` GET / HTTP/1.1\r\n${H}\r\n`, 'BAD_REQUEST_LINE', 400],
  ['missing version (HTTP/0.9)', `GET /\r\n\r\n`, 'BAD_REQUEST_LINE', 400],
  ['method only', `GET\r\n${H}\r\n`, 'BAD_REQUEST_LINE', 400],
  ['trailing garbage after version', `GET / HTTP/1.1x\r\n${H}\r\n`, 'BAD_REQUEST_LINE', 400],
  ['lower-case version', `GET / http/1.1\r\n${H}\r\n`, 'BAD_VERSION', 400],
  ['version without minor', `GET / HTTP/1\r\n${H}\r\n`, 'BAD_VERSION', 400],
  ['version two digits', `GET / HTTP/1.10\r\n${H}\r\n`, 'BAD_REQUEST_LINE', 400],
  ['HTTP/1.2', `GET / HTTP/1.2\r\n${H}\r\n`, 'UNSUPPORTED_VERSION', 505],
  ['HTTP/2.0', `GET / HTTP/2.0\r\n${H}\r\n`, 'UNSUPPORTED_VERSION', 505],
  ['HTTP/0.9 version', `GET / HTTP/0.9\r\n${H}\r\n`, 'UNSUPPORTED_VERSION', 505],
  ['HTTP/2 preface', `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, 'HTTP2_PREFACE', 505],
  ['relative target', `GET abc HTTP/1.1\r\n${H}\r\n`, 'BAD_TARGET', 400],
  ['asterisk with GET', `GET * HTTP/1.1\r\n${H}\r\n`, 'BAD_TARGET', 400],
  ['CONNECT with a path', `CONNECT /x HTTP/1.1\r\n${H}\r\n`, 'BAD_TARGET', 400],
  ['CONNECT without port', `CONNECT example.com HTTP/1.1\r\n${H}\r\n`, 'BAD_TARGET', 400],
  ['absolute with userinfo', `GET http://u@example.com/ HTTP/1.1\r\n${H}\r\n`, 'BAD_TARGET', 400],
  ['absolute other scheme', `GET ftp://example.com/ HTTP/1.1\r\n${H}\r\n`, 'BAD_TARGET', 400],
  ['absolute without host', `GET http:///x HTTP/1.1\r\n${H}\r\n`, 'BAD_TARGET', 400],
  ['raw UTF-8 in target', `GET /caf\xc3\xa9 HTTP/1.1\r\n${H}\r\n`, 'BAD_TARGET', 400],
  ['control char in target', `GET /a\x01b HTTP/1.1\r\n${H}\r\n`, 'BAD_TARGET', 400],
  ['unknown method', `FOO / HTTP/1.1\r\n${H}\r\n`, 'UNKNOWN_METHOD', 501],
  ['lower-case method', `get / HTTP/1.1\r\n${H}\r\n`, 'UNKNOWN_METHOD', 501],
];

for (const [name, raw, code, status] of REJECTED) {
  test(`rejects: ${name}`, () => {
    const parser = new RequestHeadParser();
    const r = parser.parse(bytes(raw), 0);
    assert.equal(r, PARSE_ERROR, `accepted: ${JSON.stringify(raw)}`);
    assert.deepEqual({ code: parser.error?.code, status: parser.error?.status }, { code, status });
    // Any split of the input must end in the same verdict.
    assert.deepEqual(parseGrowing(parser, bytes(raw)), parseOnce(parser, bytes(raw)));
  });
}

function parsed(raw: string, start = 0): RequestHeadParser {
  const parser = new RequestHeadParser();
  const r = parser.parse(bytes(raw), start);
  assert.ok(r > 0, `${JSON.stringify(raw)}: ${r} ${parser.error?.code}`);
  assert.equal(r, parser.head.headEnd);
  return parser;
}

test('a simple GET', () => {
  const raw = `GET /a/b?c=d HTTP/1.1\r\nHost: example.com:9000\r\nUser-Agent: t\r\n\r\n`;
  const h = parsed(raw).head;
  assert.equal(h.method, 'GET');
  assert.equal(h.target, '/a/b?c=d');
  assert.equal(h.targetForm, 'origin');
  assert.equal(h.path, '/a/b?c=d');
  assert.equal(h.versionMinor, 1);
  assert.equal(h.host, 'example.com:9000');
  assert.equal(h.hostMissing, false);
  assert.equal(h.headerCount, 2);
  assert.equal(h.nameAt(1), 'User-Agent');
  assert.equal(h.valueAt(1), 't');
  assert.equal(h.headEnd, raw.length);
  assert.equal(h.contentLength, -1);
  assert.equal(h.bodyKind, Body.NONE);
  assert.equal(h.keepAlive, true);
  assert.equal(h.upgrade, false);
  assert.equal(h.kindAt(0), HeaderKind.HOST);
  assert.equal(h.kindAt(1), HeaderKind.OTHER);
});

test('header line offsets reproduce the head byte for byte', () => {
  const raw = `PUT /x HTTP/1.1\r\nHost:h\r\nX-Pad:   spaced value \t \r\nEmpty:\r\nContent-Length: 3\r\n\r\nabc`;
  const p = parsed(raw);
  const h = p.head;
  const lines: Buffer[] = [];
  for (let i = 0; i < h.headerCount; i++) {
    lines.push(h.buffer.subarray(h.offsets[i * FIELD_STRIDE + NAME_START], h.offsets[i * FIELD_STRIDE + LINE_END]));
  }
  assert.equal(Buffer.concat(lines).toString('latin1'), 'Host:h\r\nX-Pad:   spaced value \t \r\nEmpty:\r\nContent-Length: 3\r\n');
  assert.equal(h.valueAt(0), 'h');
  assert.equal(h.valueAt(1), 'spaced value');
  assert.equal(h.valueAt(2), '');
  assert.equal(h.contentLength, 3);
  assert.equal(h.bodyKind, Body.FIXED);
  assert.equal(raw.slice(h.headEnd), 'abc');
});

test('Content-Length: 0 means no body; the largest safe length is accepted', () => {
  assert.equal(parsed(`POST / HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`).head.bodyKind, Body.NONE);
  const h = parsed(`POST / HTTP/1.1\r\n${H}Content-Length: 9007199254740991\r\n\r\n`).head;
  assert.equal(h.contentLength, Number.MAX_SAFE_INTEGER);
  assert.equal(parsed(`POST / HTTP/1.1\r\n${H}Content-Length: 0005\r\n\r\n`).head.contentLength, 5);
});

test('Transfer-Encoding: gzip, chunked is chunked; so are other casings and split lines', () => {
  for (const te of ['gzip, chunked', 'chunked', 'CHUNKED', 'Chunked', 'gzip ,\tchunked', 'x-gzip,deflate, chunked', '\tchunked  ']) {
    const h = parsed(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: ${te}\r\n\r\n`).head;
    assert.equal(h.bodyKind, Body.CHUNKED, te);
    assert.equal(h.hasTransferEncoding, true);
  }
  const two = parsed(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n`).head;
  assert.equal(two.bodyKind, Body.CHUNKED);
  assert.equal(two.kindAt(1), HeaderKind.TRANSFER_ENCODING);
  assert.ok((two.flags[1]! & FLAG_HOP_BY_HOP) !== 0);
});

test('absolute-form gives the origin-form path and the authority', () => {
  const cases: Array<[string, string, string]> = [
    ['http://example.com:9000/bucket/key?x=1', '/bucket/key?x=1', 'example.com:9000'],
    ['HTTPS://example.com', '/', 'example.com'],
    ['http://example.com?list', '/?list', 'example.com'],
    ['http://[::1]:8080/p', '/p', '[::1]:8080'],
  ];
  for (const [target, path, authority] of cases) {
    const h = parsed(`GET ${target} HTTP/1.1\r\nHost: other\r\n\r\n`).head;
    assert.equal(h.targetForm, 'absolute');
    assert.equal(h.target, target);
    assert.equal(h.path, path);
    assert.equal(h.authority, authority);
    assert.equal(h.host, 'other');
  }
});

test('asterisk-form for OPTIONS and authority-form for CONNECT', () => {
  const o = parsed(`OPTIONS * HTTP/1.1\r\n${H}\r\n`).head;
  assert.equal(o.targetForm, 'asterisk');
  assert.equal(o.path, '*');
  const c = parsed(`CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n`).head;
  assert.equal(c.method, 'CONNECT');
  assert.equal(c.targetForm, 'authority');
  assert.equal(c.target, 'example.com:443');
});

test('HTTP/1.0: Host optional, keep-alive only when asked', () => {
  const a = parsed(`GET / HTTP/1.0\r\n\r\n`).head;
  assert.equal(a.versionMinor, 0);
  assert.equal(a.hostMissing, true);
  assert.equal(a.host, '');
  assert.equal(a.keepAlive, false);
  const b = parsed(`GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n`).head;
  assert.equal(b.keepAlive, true);
  assert.equal(b.connectionKeepAlive, true);
});

test('Connection tokens, listed names and hop-by-hop flags', () => {
  const raw = `GET / HTTP/1.1\r\n${H}Connection: close, X-Secret , keep-alive,,content-length\r\n` +
    `x-secret: 1\r\nContent-Length: 0\r\nKeep-Alive: timeout=5\r\nX-Other: 2\r\n\r\n`;
  const h = parsed(raw).head;
  assert.equal(h.connectionClose, true);
  assert.equal(h.connectionKeepAlive, true);
  assert.equal(h.keepAlive, false);
  assert.deepEqual(h.connectionNameList(), ['x-secret', 'content-length']);
  const flags = Array.from(h.flags.subarray(0, h.headerCount));
  assert.ok((flags[2]! & FLAG_CONNECTION_LISTED) !== 0, 'x-secret is listed');
  assert.equal(flags[3]! & FLAG_CONNECTION_LISTED, 0, 'Content-Length is never dropped');
  assert.ok((flags[4]! & FLAG_HOP_BY_HOP) !== 0, 'Keep-Alive is hop-by-hop');
  assert.equal(flags[5], HeaderKind.OTHER);
  assert.ok((flags[1]! & FLAG_HOP_BY_HOP) !== 0, 'Connection is hop-by-hop');
});

test('Upgrade needs the Upgrade header and the upgrade Connection token', () => {
  const ws = parsed(`GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`).head;
  assert.equal(ws.upgrade, true);
  assert.equal(ws.upgradeValue, 'websocket');
  assert.equal(ws.connectionUpgrade, true);
  const noToken = parsed(`GET / HTTP/1.1\r\n${H}Upgrade: websocket\r\n\r\n`).head;
  assert.equal(noToken.upgrade, false);
  assert.equal(noToken.upgradeValue, 'websocket');
});

test('Expect: 100-continue, TE: trailers, Trailer', () => {
  const h = parsed(`PUT / HTTP/1.1\r\n${H}Expect: 100-Continue\r\nTE: deflate;q=0.5, trailers\r\nTrailer: X-Sum\r\nContent-Length: 1\r\n\r\n`).head;
  assert.equal(h.expectContinue, true);
  assert.equal(h.teTrailers, true);
  assert.equal(h.hasTrailerHeader, true);
  assert.equal(parsed(`PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n`).head.expectContinue, false, 'ignored in HTTP/1.0');
  const other = parsed(`PUT / HTTP/1.1\r\n${H}Expect: something\r\nTE: gzip\r\n\r\n`).head;
  assert.equal(other.expectContinue, false);
  assert.equal(other.teTrailers, false);
});

test('obs-text in values and an empty Host are accepted', () => {
  const h = parsed(`GET / HTTP/1.1\r\nHost:\r\nX-Name: caf\xe9\r\n\r\n`).head;
  assert.equal(h.host, '');
  assert.equal(h.hostMissing, false);
  assert.equal(h.valueAt(1), 'caf\xe9');
});

test('unknown methods pass when allowed, as latin1 strings', () => {
  const parser = new RequestHeadParser({ allowUnknownMethods: true });
  assert.ok(parser.parse(bytes(`FOO /x HTTP/1.1\r\n${H}\r\n`), 0) > 0);
  assert.equal(parser.head.method, 'FOO');
});

test('empty lines before the request line are skipped', () => {
  const raw = `\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`;
  const h = parsed(raw).head;
  assert.equal(h.headStart, 4);
  assert.equal(h.headEnd, raw.length);
});

test('pipelined requests in one buffer, with bodies, from any start offset', () => {
  const raw = `POST /1 HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello` +
    `GET /2 HTTP/1.1\r\n${H}\r\n` +
    `POST /3 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`;
  const buf = bytes(raw);
  const parser = new RequestHeadParser();
  let end = parser.parse(buf, 0);
  assert.equal(parser.head.path, '/1');
  end += parser.head.contentLength;
  end = parser.parse(buf, end);
  assert.equal(parser.head.path, '/2');
  assert.equal(parser.head.contentLength, -1, 'state from the previous request does not leak');
  end = parser.parse(buf, end);
  assert.equal(parser.head.path, '/3');
  assert.equal(parser.head.bodyKind, Body.CHUNKED);
  assert.equal(end, buf.length);
});

test('more than the initial 32 header lines', () => {
  let raw = `GET / HTTP/1.1\r\n${H}`;
  for (let i = 0; i < 100; i++) raw += `X-H${i}: v${i}\r\n`;
  const h = parsed(raw + '\r\n').head;
  assert.equal(h.headerCount, 101);
  assert.equal(h.nameAt(100), 'X-H99');
  assert.equal(h.valueAt(100), 'v99');
});

test('incomplete heads ask for more', () => {
  const raw = `POST /x HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\n`;
  for (let len = 0; len < raw.length; len++) {
    const parser = new RequestHeadParser();
    assert.equal(parser.parse(bytes(raw.slice(0, len)), 0), PARSE_NEED_MORE, `prefix of ${len}`);
  }
});

test('431 when the head exceeds the limit, complete or not; the limit itself is fine', () => {
  const head = `GET / HTTP/1.1\r\n${H}X-Pad: ${'a'.repeat(40)}\r\n\r\n`;
  const exact = new RequestHeadParser({ maxHeadSize: head.length });
  assert.equal(exact.parse(bytes(head + 'body'), 0), head.length);
  const small = new RequestHeadParser({ maxHeadSize: head.length - 1 });
  assert.equal(small.parse(bytes(head), 0), PARSE_ERROR);
  assert.deepEqual([small.error?.code, small.error?.status], ['HEAD_TOO_LARGE', 431]);
  const partial = new RequestHeadParser({ maxHeadSize: 64 });
  assert.equal(partial.parse(bytes(`GET / HTTP/1.1\r\nX-Pad: ${'a'.repeat(200)}`), 0), PARSE_ERROR);
  assert.equal(partial.error?.code, 'HEAD_TOO_LARGE');
  const def = new RequestHeadParser();
  assert.equal(def.parse(bytes(`GET /${'a'.repeat(16 * 1024)}`), 0), PARSE_ERROR);
  assert.equal(def.error?.status, 431);
});

const VALID = [
  `GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n`,
  `POST /x HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\nConnection: close, X-A\r\nX-A: 1\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
  `\r\nPUT /k HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc`,
  `GET http://h.example/p?q HTTP/1.1\r\nHost: h.example\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n`,
  `OPTIONS * HTTP/1.1\r\n${H}Expect: 100-continue\r\nTE: trailers\r\nX-E:\r\nX-S:  a \t\r\n\r\n`,
];

test('any split of a valid head gives the one-shot result', () => {
  const parser = new RequestHeadParser();
  for (const raw of VALID) {
    const once = parseOnce(parser, bytes(raw));
    assert.ok((once['result'] as number) > 0, raw);
    for (const step of [1, 2, 3, 7, 16]) assert.deepEqual(parseGrowing(parser, bytes(raw), 0, step), once, `step ${step}`);
    const prefixed = bytes('JUNK' + raw);
    assert.equal((parseGrowing(parser, prefixed, 4) as { headEnd: number }).headEnd, (once['headEnd'] as number) + 4);
  }
});

test('trickled long lines are not re-scanned from their start on every byte', () => {
  // 16 KiB value fed byte by byte: quadratic re-scanning would take seconds here.
  const raw = bytes(`GET /${'p'.repeat(8000)} HTTP/1.1\r\n${H}X-Big: ${'v'.repeat(8000)}\r\n\r\n`);
  const parser = new RequestHeadParser({ maxHeadSize: 32 * 1024 });
  const t0 = process.hrtime.bigint();
  let r = PARSE_NEED_MORE;
  for (let len = 1; len <= raw.length && r === PARSE_NEED_MORE; len++) r = parser.parse(raw.subarray(0, len), 0);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.equal(r, raw.length);
  assert.ok(ms < 1000, `took ${ms} ms`);
});
