import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { addCrc, checkCrc, compress, decompress, makeCompound, splitCompound, FrameError } from './layers.js';
import { lzwCompress, lzwDecompress, LzwError } from './lzw.js';
import { decodePacket, sealPacket, type WireOptions } from './packet.js';
import { encodeAlive, encodeAck } from './messages.js';
import { Keyring } from './crypto.js';
import { ipToBytes } from './ip.js';
import { ALIVE_B, hex, toHex, VSN } from './fixtures.js';

const aliveA = encodeAlive({ incarnation: 1, node: 'A', addr: ipToBytes('127.0.0.1'), port: 17301, meta: new TextEncoder().encode('metaA'), vsn: VSN });
const gossip = makeCompound([hex(ALIVE_B), aliveA]);
const PLAIN: WireOptions = { keyring: null, label: '', compression: true, verifyIncoming: true };

test('compound of two alives with CRC is the captured packet (§11.3: CRC 62a045bb)', () => {
  assert.equal(toHex(gossip.subarray(0, 6)), '0702003e003e');
  assert.equal(toHex(addCrc(gossip).subarray(0, 5)), '0c62a045bb');
  assert.deepEqual(splitCompound(gossip.subarray(1)).map((p) => p.length), [62, 62]);
});

// The facts give only the first bytes and the length of Go's compressed 130-byte
// gossip (§11.5, from another capture whose alives may differ in content), so
// this checks those; the byte-identical check is the TCP user message below.
test('LZW of a 130-byte alive compound: 110 bytes starting as Go did (§11.5)', () => {
  const lzw = lzwCompress(gossip);
  assert.equal(lzw.length, 110);
  assert.equal(toHex(lzw.subarray(0, 10)), '000f0800e083200143a4');
  const sealed = sealPacket(gossip, PLAIN, true);
  assert.equal(toHex(sealed.subarray(5, 20)), '0982a4416c676f00a3427566da006e');
  assert.deepEqual(lzwDecompress(lzw), gossip);
});

test('LZW reproduces the captured TCP user message payload exactly', () => {
  const plain = hex('0881aa557365724d73674c656e0c7463702d757365722d6d7367');
  const goLzw = hex('0011045255654e19394de69c6152c60d033a63e0b4a863504e8b360a0302');
  assert.deepEqual(lzwCompress(plain), goLzw);
  assert.deepEqual(lzwDecompress(goLzw), plain);
});

test('LZW round-trips empty, random (table resets) and repetitive input', () => {
  for (const input of [new Uint8Array(0), Uint8Array.of(7), randomBytes(100_000), new Uint8Array(300_000), Buffer.from('abc'.repeat(50_000))]) {
    assert.deepEqual(lzwDecompress(lzwCompress(input)), new Uint8Array(input));
  }
});

test('LZW refuses truncated data, invalid codes and output beyond the cap', () => {
  const z = lzwCompress(new Uint8Array(100_000));
  assert.throws(() => lzwDecompress(z.subarray(0, z.length - 2)), LzwError);
  assert.throws(() => lzwDecompress(z, 1000), LzwError);
  assert.throws(() => lzwDecompress(Uint8Array.of(0x00, 0xff, 0xff)), LzwError);
});

test('CRC mismatch drops the packet; a ping is not compressed, an alive compound is', () => {
  const bad = addCrc(gossip);
  bad[10]! ^= 1;
  assert.throws(() => checkCrc(bad), FrameError);
  const ack = encodeAck({ seqNo: 1, payload: null });
  assert.deepEqual(sealPacket(ack, PLAIN, false), ack);
  assert.equal(sealPacket(gossip, PLAIN, false)[0], 9);
  assert.deepEqual(decompress(compress(gossip).subarray(1)), gossip);
});

test('decodePacket opens CRC + compress + compound to the two alives', () => {
  const { messages, bad } = decodePacket(sealPacket(gossip, PLAIN, true), PLAIN);
  assert.equal(bad, 0);
  assert.deepEqual(messages.map((m) => m.kind === 'alive' && m.msg.node), ['B', 'A']);
});

test('labels: sent as f4 len label; wrong or missing label is dropped; label is the GCM AAD', () => {
  const labelled: WireOptions = { ...PLAIN, label: 'mylabel' };
  const ack = encodeAck({ seqNo: 1, payload: null });
  assert.equal(toHex(sealPacket(ack, labelled, false).subarray(0, 9)), 'f4076d796c6162656c');
  assert.equal(decodePacket(sealPacket(ack, labelled, false), labelled).messages.length, 1);
  assert.throws(() => decodePacket(sealPacket(ack, labelled, false), PLAIN), FrameError);
  assert.throws(() => decodePacket(ack, labelled), FrameError);
  const keyring = new Keyring([new Uint8Array(16)]);
  const sealed = sealPacket(ack, { ...labelled, keyring }, false);
  assert.equal(decodePacket(sealed, { ...labelled, keyring }).messages.length, 1);
  const relabelled = Uint8Array.from(sealed);
  relabelled.set(new TextEncoder().encode('xylabel'), 2);
  assert.throws(() => decodePacket(relabelled, { ...labelled, label: 'xylabel', keyring }));
});

test('compound parts truncated at the end are dropped, >127 parts refused on send', () => {
  const c = makeCompound([hex('0b81a55365714e6f05'), hex('0b81a55365714e6f06')]);
  assert.equal(splitCompound(c.subarray(1, c.length - 1)).length, 1);
  assert.throws(() => makeCompound(new Array(128).fill(hex('00'))), FrameError);
});

test('random datagrams never crash the decoder (fuzz, 3000 inputs)', () => {
  for (let i = 0; i < 3000; i++) {
    const b = randomBytes(1 + (i % 200));
    if (i % 3 === 0) b[0] = [7, 9, 12][i % 9 / 3 | 0]!;
    try { decodePacket(b, PLAIN); } catch (err) { assert.ok(err instanceof Error); }
  }
});
