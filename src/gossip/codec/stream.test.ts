import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStream, sealStream, encodePushPull, streamPreamble } from './stream.js';
import type { WireOptions } from './packet.js';
import { encodeValue } from './msgpack.js';
import { ipToBytes } from './ip.js';
import { hex, toHex, VSN } from './fixtures.js';

const PLAIN: WireOptions = { keyring: null, label: '', compression: true, verifyIncoming: true };
const nodeB = { name: 'B', addr: ipToBytes('127.0.0.1'), port: 17302, meta: new TextEncoder().encode('metaB'), incarnation: 1, state: 0, vsn: VSN };

const JOIN = `06 83a44a6f696ec3a54e6f64657301ac5573657253746174654c656e09
  87a441646472a47f000001ab496e6361726e6174696f6e01a44d657461a56d65746142a44e616d65a142a4506f7274cd4396a55374617465 00
  a356736ea6010502000000 7b2273223a2242227d`;

test('the join push/pull of §11.5 encodes byte for byte (106 bytes), and compressed to 128 bytes', () => {
  const plain = encodePushPull(true, [nodeB], Buffer.from('{"s":"B"}'));
  assert.equal(toHex(plain), toHex(hex(JOIN)));
  assert.equal(plain.length, 106);
  const sealed = sealStream(plain, PLAIN);
  assert.equal(sealed.length, 128);
  assert.equal(toHex(sealed.subarray(0, 24)), '0982a4416c676f00a3427566da0071000d0c22a5e44d1a37');
});

test('a plain stream is parsed incrementally: null until the user state is complete', () => {
  const plain = hex(JOIN);
  const opts = { ...PLAIN, compression: false };
  for (const cut of [1, 5, 20, 60, 100, 105]) assert.equal(parseStream(plain.subarray(0, cut), opts, false), null);
  const m = parseStream(plain, opts, false);
  assert.ok(m?.kind === 'pushPull');
  assert.equal(m.nodes[0]?.name, 'B');
});

test('a stream from a labelled dialer must carry our label', () => {
  const labelled = { ...PLAIN, label: 'l1' };
  const body = sealStream(hex(JOIN), labelled);
  const withLabel = new Uint8Array([...streamPreamble(labelled), ...body]);
  assert.equal(parseStream(withLabel, labelled, true)?.kind, 'pushPull');
  assert.throws(() => parseStream(withLabel, PLAIN, true), /label/);
  assert.throws(() => parseStream(body, labelled, true), /label/);
});

test('hostile streams: oversized lengths and unknown types are refused', () => {
  const huge = new Uint8Array([0x06, ...encodeValue({ Join: false, Nodes: 0, UserStateLen: 0x7fffffff })]);
  assert.throws(() => parseStream(huge, { ...PLAIN, compression: false }, false));
  assert.throws(() => parseStream(hex('4281a0'), PLAIN, false), /unexpected stream message type/);
  assert.throws(() => parseStream(hex('0a7fffffff00'), { ...PLAIN, keyring: null }, false), /no key/);
});
