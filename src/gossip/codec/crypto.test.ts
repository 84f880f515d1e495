import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring, CryptoError, parseKey } from './crypto.js';
import { parseStream, sealStream, encodeUserStream, encodePushPull } from './stream.js';
import { decodePacket, sealPacket, type WireOptions } from './packet.js';
import { encodePing } from './messages.js';
import { hex, VSN } from './fixtures.js';
import { ipToBytes } from './ip.js';

const KEY = hex('000102030405060708090a0b0c0d0e0f');
const keyring = new Keyring([KEY]);
const ENC: WireOptions = { keyring, label: '', compression: true, verifyIncoming: true };
const PLAIN: WireOptions = { ...ENC, keyring: null };

test('the captured encrypted TCP user message from Go decrypts, decompresses and parses (§11.7)', () => {
  const wire = hex('0a000000480164a1b8a61829f63d1a0f8b173aec19d272ca6efef307bc3b7e0b961bc01c455bc28214f157ce11a90e336782359bbbe1942c355cb7de78870f625b3c45d9ef0e809c4ccccd3828');
  const m = parseStream(wire, ENC, false);
  assert.equal(m?.kind, 'user');
  assert.equal(m?.kind === 'user' && Buffer.from(m.payload).toString(), 'tcp-user-msg');
  assert.equal(parseStream(wire.subarray(0, 40), ENC, false), null);
});

test('UDP encryption: version 1, 29 bytes of overhead, no type byte', () => {
  const ping = encodePing({ seqNo: 1, node: 'A' });
  const sealed = sealPacket(ping, ENC, false);
  assert.equal(sealed[0], 1);
  assert.equal(sealed.length, ping.length + 29);
  assert.equal(decodePacket(sealed, ENC).messages[0]?.kind, 'ping');
});

test('wrong key is refused; plaintext refused when verifying incoming, accepted when not', () => {
  const other: WireOptions = { ...ENC, keyring: new Keyring([new Uint8Array(32)]) };
  const ping = encodePing({ seqNo: 1, node: 'A' });
  assert.throws(() => decodePacket(sealPacket(ping, ENC, false), other), CryptoError);
  assert.throws(() => decodePacket(ping, ENC), CryptoError);
  assert.equal(decodePacket(ping, { ...ENC, verifyIncoming: false }).messages.length, 1);
  const stream = sealStream(encodeUserStream(Uint8Array.of(1)), PLAIN);
  assert.throws(() => parseStream(stream, ENC, false), /plaintext stream refused/);
});

test('key rotation: a second key decrypts, use() makes it primary, the primary cannot be removed', () => {
  const k2 = hex('0f0e0d0c0b0a09080706050403020100');
  const ring = new Keyring([KEY]);
  ring.add(k2);
  const byOld = sealPacket(encodePing({ seqNo: 2, node: 'x' }), ENC, false);
  const onlyNew = new Keyring([k2]);
  ring.use(k2);
  assert.equal(decodePacket(byOld, { ...ENC, keyring: ring }).messages.length, 1);
  const byNew = sealPacket(encodePing({ seqNo: 3, node: 'x' }), { ...ENC, keyring: ring }, false);
  assert.equal(decodePacket(byNew, { ...ENC, keyring: onlyNew }).messages.length, 1);
  assert.throws(() => ring.remove(k2), CryptoError);
  ring.remove(KEY);
  assert.equal(ring.all.length, 1);
});

test('encrypted push/pull stream round-trips with its user state', () => {
  const node = { name: 'a', addr: ipToBytes('127.0.0.1'), port: 1, meta: null, incarnation: 1, state: 0, vsn: VSN };
  const sealed = sealStream(encodePushPull(true, [node, { ...node, name: 'b' }], Buffer.from('{"s":1}')), ENC);
  const m = parseStream(sealed, ENC, false);
  assert.ok(m?.kind === 'pushPull');
  assert.deepEqual(m.nodes.map((n) => n.name), ['a', 'b']);
  assert.equal(Buffer.from(m.userState).toString(), '{"s":1}');
  assert.equal(m.header.join, true);
});

test('--gossip-key accepts base64 or hex of 16/24/32 bytes and names the problem otherwise', () => {
  assert.deepEqual(parseKey(Buffer.from(KEY).toString('base64')), KEY);
  assert.deepEqual(parseKey('000102030405060708090a0b0c0d0e0f'), KEY);
  assert.throws(() => parseKey('c2hvcnQ='), /16, 24 or 32/);
  assert.throws(() => parseKey('not base64 at all!'), CryptoError);
});
