import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseHeadParser } from './response-parser.js';
import { serializeResponseHead } from './serialize.js';

test('serializes a status line and headers in order', () => {
  const head = serializeResponseHead(502, ['Retry-After', '120', 'Server', 'SideKick', 'Content-Length', '0']);
  assert.equal(head.toString('latin1'), 'HTTP/1.1 502 Bad Gateway\r\nRetry-After: 120\r\nServer: SideKick\r\nContent-Length: 0\r\n\r\n');
});

test('custom and empty reasons; unknown codes get an empty reason', () => {
  assert.equal(serializeResponseHead(200, [], 'Fine').toString(), 'HTTP/1.1 200 Fine\r\n\r\n');
  assert.equal(serializeResponseHead(299, []).toString(), 'HTTP/1.1 299 \r\n\r\n');
});

test('what it writes, the response parser reads back', () => {
  const head = serializeResponseHead(431, ['Connection', 'close', 'X-Name', 'caf\xe9']);
  const parser = new ResponseHeadParser();
  assert.equal(parser.parse(head, 0), head.length);
  assert.equal(parser.head.statusCode, 431);
  assert.equal(parser.head.reason, 'Request Header Fields Too Large');
  assert.equal(parser.head.connectionClose, true);
  assert.equal(parser.head.valueAt(1), 'caf\xe9');
});

test('refuses anything that would break the framing', () => {
  assert.throws(() => serializeResponseHead(99, []), TypeError);
  assert.throws(() => serializeResponseHead(200.5, []), TypeError);
  assert.throws(() => serializeResponseHead(200, ['X-A', 'a\r\nInjected: 1']), TypeError);
  assert.throws(() => serializeResponseHead(200, ['X A', 'a']), TypeError);
  assert.throws(() => serializeResponseHead(200, ['', 'a']), TypeError);
  assert.throws(() => serializeResponseHead(200, ['X-A']), TypeError);
  assert.throws(() => serializeResponseHead(200, [], 'OK\r\n'), TypeError);
  assert.throws(() => serializeResponseHead(200, ['X-A', '\u0100']), TypeError);
});
