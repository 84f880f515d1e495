import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { durationMs, MAX_TIMER_MS, parseDurationMs } from './duration.js';

const ms = (text: string): number | string => {
  const result = parseDurationMs(text);
  return result.ok ? result.value : result.reason;
};

describe('parseDurationMs', () => {
  it('reads plain numbers as seconds', () => {
    assert.equal(ms('5'), 5000);
    assert.equal(ms('0.5'), 500);
    assert.equal(ms('.25'), 250);
  });
  it('reads Go durations', () => {
    assert.equal(ms('5s'), 5000);
    assert.equal(ms('500ms'), 500);
    assert.equal(ms('1m30s'), 90_000);
    assert.equal(ms('10m'), 600_000);
    assert.equal(ms('1h'), 3_600_000);
    assert.equal(ms('1.5h'), 5_400_000);
    assert.equal(ms('2us'), 0.002);
    assert.equal(ms('1h2m3s4ms'), 3_723_004);
  });
  it('rejects other text with a hint of the accepted forms', () => {
    for (const text of ['abc', '5x', '5 s', '-5s', '-1', 's', '', '1d']) {
      assert.equal(ms(text), `${JSON.stringify(text)} is not a duration (use 5, 5s, 500ms or 1m)`);
    }
  });
  it('rejects durations too long for a Node timer', () => {
    assert.equal(typeof ms('596h'), 'number');
    assert.match(String(ms('597h')), /too long/);
    assert.equal(ms(`${MAX_TIMER_MS}ms`), MAX_TIMER_MS);
  });
});

describe('durationMs', () => {
  it('rejects zero for intervals', () => {
    assert.deepEqual(durationMs({ allowZero: false })('0s'), { ok: false, reason: '"0s" must be greater than 0' });
    assert.equal(durationMs({ allowZero: false })('0').ok, false);
  });
  it('accepts zero where allowed (shutdown timeout)', () => {
    assert.deepEqual(durationMs({ allowZero: true })('0'), { ok: true, value: 0 });
  });
});
