import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HpackDecoder, HpackError } from './decoder.js';
import { encodeField, encodeStatus } from './encoder.js';
import { huffmanDecode, huffmanEncode, HuffmanError } from './huffman.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function decode(d: HpackDecoder, block: Buffer, max = 1 << 20): [string, string][] {
  const out: string[] = [];
  assert.equal(d.decode(block, 0, block.length, out, max), true);
  const pairs: [string, string][] = [];
  for (let i = 0; i < out.length; i += 2) pairs.push([out[i]!, out[i + 1]!]);
  return pairs;
}

test('RFC 7541 C.4: three requests with Huffman coding share one dynamic table', () => {
  const d = new HpackDecoder(4096);
  assert.deepEqual(decode(d, hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')), [
    [':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'],
  ]);
  assert.deepEqual([d.tableLength, d.tableSize], [1, 57]);
  assert.deepEqual(decode(d, hex('8286 84be 5886 a8eb 1064 9cbf')), [
    [':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache'],
  ]);
  assert.deepEqual([d.tableLength, d.tableSize], [2, 110]);
  assert.deepEqual(decode(d, hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')), [
    [':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value'],
  ]);
  assert.deepEqual([d.tableLength, d.tableSize], [3, 164]);
});

test('RFC 7541 C.6: responses with Huffman coding evict from a 256-byte table', () => {
  const d = new HpackDecoder(256);
  assert.deepEqual(decode(d, hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
    2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`)), [
    [':status', '302'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com'],
  ]);
  assert.deepEqual([d.tableLength, d.tableSize], [4, 222]);
  assert.deepEqual(decode(d, hex('4883 640e ffc1 c0bf')), [
    [':status', '307'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com'],
  ]);
  assert.deepEqual([d.tableLength, d.tableSize], [4, 222], ':status 302 was evicted for :status 307');
  assert.deepEqual(decode(d, hex(`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
    77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07`)), [
    [':status', '200'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'], ['location', 'https://www.example.com'],
    ['content-encoding', 'gzip'], ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
  ]);
  assert.deepEqual([d.tableLength, d.tableSize], [3, 215]);
});

test('a table size update shrinks the table (evicting) and may not exceed our setting', () => {
  const d = new HpackDecoder(4096);
  decode(d, hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'));
  assert.equal(d.tableLength, 1);
  assert.deepEqual(decode(d, hex('20 82')), [[':method', 'GET']], 'size update to 0, then an indexed field');
  assert.deepEqual(decode(d, hex('3fe1 1f 82')), [[':method', 'GET']], 'an update to exactly 4096 is allowed');
  assert.equal(d.tableLength, 0);
  assert.throws(() => decode(d, hex('3fe2 1f')), HpackError, 'an update to 4097 is above our 4096');
  assert.throws(() => decode(new HpackDecoder(), hex('82 20')), HpackError, 'an update after a field');
});

test('bad blocks are HpackErrors: index 0, index past the tables, truncated strings and integers', () => {
  assert.throws(() => decode(new HpackDecoder(), hex('80')), HpackError);
  assert.throws(() => decode(new HpackDecoder(), hex('be')), HpackError, 'index 62 with an empty dynamic table');
  assert.throws(() => decode(new HpackDecoder(), hex('4005 6162')), HpackError);
  assert.throws(() => decode(new HpackDecoder(), hex('ff')), HpackError);
  assert.throws(() => decode(new HpackDecoder(), hex('ff ff ff ff ff 7f')), HpackError, 'integer overflow');
});

test('a header list past the limit is reported, and the table still follows the whole block', () => {
  const d = new HpackDecoder();
  const block = hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff');
  const out: string[] = [];
  assert.equal(d.decode(block, 0, block.length, out, 100), false);
  assert.equal(d.tableLength, 1, ':authority was indexed although the list was over the limit');
  assert.ok(out.length < 8);
});

test('Huffman: every byte round-trips; EOS and bad padding are refused', () => {
  const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
  const enc = huffmanEncode(all);
  assert.equal(huffmanDecode(enc, 0, enc.length), all);
  assert.deepEqual(huffmanEncode('www.example.com'), hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff'));
  assert.throws(() => huffmanDecode(hex('ffff ffff'), 0, 4), HuffmanError, 'EOS (30 ones)');
  assert.throws(() => huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff ff'), 0, 13), HuffmanError, 'padding longer than 7 bits');
  assert.throws(() => huffmanDecode(hex('00'), 0, 1), HuffmanError, "'0' (00000) followed by padding of zeros");
});

test('the encoder writes :status and literals a decoder reads back', () => {
  const buf = Buffer.alloc(512);
  let pos = encodeStatus(buf, 0, 200);
  pos = encodeStatus(buf, pos, 418);
  pos = encodeField(buf, pos, 'content-type', 'text/plain');
  pos = encodeField(buf, pos, 'x-custom', 'v'.repeat(300));
  const d = new HpackDecoder();
  assert.deepEqual(decode(d, buf.subarray(0, pos)), [
    [':status', '200'], [':status', '418'], ['content-type', 'text/plain'], ['x-custom', 'v'.repeat(300)],
  ]);
  assert.equal(d.tableLength, 0, 'literals without indexing leave the table alone');
});
