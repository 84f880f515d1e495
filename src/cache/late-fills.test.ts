/** Which of this process's recent fills a removal another sidecar tells of reaches (late-fills.ts), with an injected clock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LateFills } from './late-fills.js';

test('a removal heard within the window takes the directory saved here, once; one heard after it takes nothing', () => {
  let now = 0;
  const late = new LateFills(() => now, 10_000);
  late.add('hh/h/a/', 'http://h/a');
  late.add('hh/h/b/', 'http://h/b');
  now = 9_000;
  assert.deepEqual(late.take('hh/h/a/', 'http://h/a'), [['hh/h/a/', 'http://h/a']]);
  assert.deepEqual(late.take('hh/h/a/', 'http://h/a'), [], 'taken once');
  assert.deepEqual(late.take('hh/h/c/', 'http://h/c'), [], 'a URL not saved here');
  now = 10_001;
  assert.deepEqual(late.take('hh/h/b/', ''), [], 'saved longer ago than the window');
});

test('a purge by URL prefix (dir empty) takes every directory saved here whose URL it covers', () => {
  let now = 0;
  const late = new LateFills(() => now, 10_000);
  late.add('hh/h/1/', 'http://h/logs/1');
  now = 1;
  late.add('hh/h/2/', 'http://h/logs/2');
  late.add('hh/h/3/', 'http://h/other');
  late.add('hh/h/1/', 'http://h/logs/1'); // saved again: counted from now
  assert.deepEqual(late.take('', 'http://h/logs/'), [['hh/h/2/', 'http://h/logs/2'], ['hh/h/1/', 'http://h/logs/1']]);
  assert.deepEqual(late.take('', 'http://h/'), [['hh/h/3/', 'http://h/other']]);
});

test('bounded: past 10,000 directories the oldest is forgotten', () => {
  const late = new LateFills(() => 0, 10_000);
  for (let i = 0; i <= 10_000; i++) late.add(`hh/h/${i}/`, `http://h/${i}`);
  assert.deepEqual(late.take('hh/h/0/', ''), []);
  assert.deepEqual(late.take('hh/h/1/', ''), [['hh/h/1/', 'http://h/1']]);
});
