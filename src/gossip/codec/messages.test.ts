// Byte-exact checks against bytes captured from, or produced by, Debian's memberlist 0.2.2 (memberlist-wire.md §4, §11).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeAccusation, decodeAck, decodeAlive, decodeErr, decodePing, decodePushNodeState, encodeAck, encodeAlive,
  encodeDead, encodeErr, encodeNack, encodePing, MsgType,
} from './messages.js';
import { encodeValue, valueEnd, decodeMap, str, MsgpackError } from './msgpack.js';
import { pushNodeStateMap } from './messages.js';
import { bytesToIp, ipToBytes } from './ip.js';

import { ALIVE_B, hex, toHex, VSN } from './fixtures.js';

test('ping {SeqNo 1, Node "b"} encodes as go-msgpack does: sorted keys, fixstr, no Source fields', () => {
  assert.equal(toHex(encodePing({ seqNo: 1, node: 'b' })), '00' + '82a44e6f6465a162a55365714e6f01');
});

test('the captured full ping (§11.1) encodes byte for byte and decodes back', () => {
  const wire = hex(`00 85 a44e6f6465 a141 a55365714e6f 01 aa536f7572636541646472 a47f000001
    aa536f757263654e6f6465 a142 aa536f75726365506f7274 cd4396`);
  const ping = { seqNo: 1, node: 'A', sourceAddr: ipToBytes('127.0.0.1'), sourceNode: 'B', sourcePort: 17302 };
  assert.deepEqual(encodePing(ping), wire);
  const back = decodePing(wire.subarray(1));
  assert.equal(back.node, 'A');
  assert.equal(back.sourceNode, 'B');
  assert.equal(back.sourcePort, 17302);
  assert.equal(bytesToIp(back.sourceAddr ?? null), '127.0.0.1');
});

test('a 33-byte node name goes out as str16 (da 0021), never str8', () => {
  const name = 'node-' + 'x'.repeat(28);
  const out = encodePing({ seqNo: 1, node: name });
  assert.equal(toHex(out.subarray(7, 10)), 'da0021');
  assert.equal(decodePing(out.subarray(1)).node, name);
});

test('ack with nil payload (§11.2) and SeqNo 127', () => {
  assert.equal(toHex(encodeAck({ seqNo: 1, payload: null })), '0282a75061796c6f6164c0a55365714e6f01');
  assert.equal(toHex(encodeAck({ seqNo: 127, payload: null })), '0282a75061796c6f6164c0a55365714e6f7f');
  assert.equal(decodeAck(hex('82a75061796c6f6164c0a55365714e6f7f')).seqNo, 127);
});

test('nack, errResp and a graceful-leave dead match the captures', () => {
  assert.equal(toHex(encodeNack({ seqNo: 5 })), '0b81a55365714e6f05');
  assert.equal(toHex(encodeErr('boom')), '0d81a54572726f72a4626f6f6d');
  assert.equal(decodeErr(hex('81a54572726f72a4626f6f6d')), 'boom');
  const leave = '0583a446726f6da142ab496e6361726e6174696f6e01a44e6f6465a142';
  assert.equal(toHex(encodeDead({ from: 'B', incarnation: 1, node: 'B' })), leave);
  assert.deepEqual(decodeAccusation(hex(leave).subarray(1)), { from: 'B', incarnation: 1, node: 'B' });
});

test('alive (§11.3): Addr/Meta/Vsn as raw str, Port as u16', () => {
  const alive = { incarnation: 1, node: 'B', addr: ipToBytes('127.0.0.1'), port: 17302, meta: new TextEncoder().encode('metaB'), vsn: VSN };
  assert.equal(toHex(encodeAlive(alive)), toHex(hex(ALIVE_B)));
  const back = decodeAlive(hex(ALIVE_B).subarray(1));
  assert.equal(back.node, 'B');
  assert.deepEqual(back.vsn, VSN);
});

test('alive as other encoders write it (bin8 bytes, str8 name, array Vsn, wide ints) still decodes', () => {
  const m = hex(`86 a441646472 c4047f000001 ab496e6361726e6174696f6e ce00000001 a44d657461 c400
    a44e6f6465 d90142 a4506f7274 cd4396 a356736e 96010502000000`);
  const a = decodeAlive(m);
  assert.equal(a.node, 'B');
  assert.equal(a.incarnation, 1);
  assert.deepEqual(a.vsn, VSN);
  assert.equal(a.meta?.length, 0);
});

test('a left pushNodeState matches the golden bytes, and a non-UTF-8 IP survives decoding', () => {
  const gold = `87 a441646472 a40a00c801 ab496e6361726e6174696f6e 09 a44d657461 a46d657461 a44e616d65 a178
    a4506f7274 cd1f0a a55374617465 03 a356736e a6010502000000`;
  const n = { name: 'x', addr: ipToBytes('10.0.200.1'), port: 7946, meta: new TextEncoder().encode('meta'), incarnation: 9, state: 3, vsn: VSN };
  assert.equal(toHex(encodeValue(pushNodeStateMap(n))), toHex(hex(gold)));
  const back = decodePushNodeState(hex(gold));
  assert.equal(bytesToIp(back.addr), '10.0.200.1');
  assert.equal(back.state, 3);
});

test('integers take the smallest unsigned form; Go int fields above 127 are cc/cd', () => {
  assert.equal(toHex(encodeValue(127)), '7f');
  assert.equal(toHex(encodeValue(128)), 'cc80');
  assert.equal(toHex(encodeValue(300)), 'cd012c');
  assert.equal(toHex(encodeValue(70000)), 'ce00011170');
  assert.equal(toHex(encodeValue(-1)), 'ff');
});

test('valueEnd finds message boundaries and says when bytes are missing', () => {
  const m = hex('82a75061796c6f6164c0a55365714e6f7f');
  assert.equal(valueEnd(m, 0), m.length);
  assert.equal(valueEnd(m.subarray(0, 10), 0), -1);
  assert.throws(() => valueEnd(hex('c1'), 0), MsgpackError);
});

test('hostile bodies are errors, not crashes', () => {
  assert.throws(() => decodeMap(hex('c1')), MsgpackError);
  assert.throws(() => decodeMap(hex('01')), MsgpackError);
  assert.equal(str(decodeMap(hex('81a46e6f6465a178')), 'Node'), ''); // other case: ignored like Go
});

test('IPv6 and IPv4-mapped addresses', () => {
  assert.equal(bytesToIp(ipToBytes('::ffff:10.0.0.1')), '10.0.0.1');
  assert.equal(bytesToIp(ipToBytes('fe80::1')), 'fe80::1');
  assert.equal(ipToBytes('2001:db8::2:1').length, 16);
  assert.equal(MsgType.hasLabel, 0xf4);
});
