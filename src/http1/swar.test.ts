import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIELD_VALUE, TARGET } from './chars.js';
import { seededRandom } from '../seeded-random.js';
import { skipFieldValue, skipTarget, viewOf } from './swar.js';

function byTable(table: Uint8Array, buf: Uint8Array, i: number, end: number): number {
  while (i < end && table[buf[i]!] === 1) i++;
  return i;
}

test('word-wise scans stop exactly where the byte tables do, for every byte at every position', () => {
  const backing = Buffer.alloc(64 + 8);
  for (let shift = 0; shift < 4; shift++) {
    const buf = backing.subarray(shift, shift + 40); // unaligned views too
    const view = viewOf(buf);
    for (let b = 0; b < 256; b++) {
      for (let at = 0; at < 24; at++) {
        buf.fill(0x61);
        buf[at] = b;
        for (const start of [0, 1, 3]) {
          assert.equal(skipFieldValue(buf, view, start, buf.length), byTable(FIELD_VALUE, buf, start, buf.length), `value byte ${b} at ${at}`);
          assert.equal(skipTarget(buf, view, start, buf.length), byTable(TARGET, buf, start, buf.length), `target byte ${b} at ${at}`);
        }
      }
    }
  }
});

test('word-wise scans agree with the tables on random bytes and bounds', () => {
  const rand = seededRandom(42);
  const pool = [0x09, 0x20, 0x61, 0x7e, 0x7f, 0x80, 0xff, 0x0d, 0x00, 0x21];
  for (let n = 0; n < 5000; n++) {
    const len = Math.floor(rand() * 40);
    const buf = Buffer.alloc(len);
    for (let i = 0; i < len; i++) buf[i] = rand() < 0.9 ? pool[Math.floor(rand() * 4)]! : pool[Math.floor(rand() * pool.length)]!;
    const view = viewOf(buf);
    const start = Math.floor(rand() * (len + 1));
    const end = start + Math.floor(rand() * (len - start + 1));
    assert.equal(skipFieldValue(buf, view, start, end), byTable(FIELD_VALUE, buf, start, end));
    assert.equal(skipTarget(buf, view, start, end), byTable(TARGET, buf, start, end));
  }
});
