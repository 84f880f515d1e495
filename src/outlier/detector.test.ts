import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backend } from '../upstream/backend.js';
import { OutlierDetector, type EjectionTarget, type OutlierSettings } from './detector.js';

const SETTINGS: OutlierSettings = {
  consecutive5xx: 5, consecutiveGateway: 0, successRateStdev: 0, successRateMinRequests: 10, successRateMinHosts: 3,
  intervalMs: 1000, baseEjectionMs: 10_000, maxEjectionMs: 25_000, maxEjectedShare: 0.5,
};

function site(n: number): Backend[] {
  return Array.from({ length: n }, (_, i) => new Backend(
    { url: `http://b${i}:80`, protocol: 'http:', hostname: `b${i}`, port: 80, basePath: '' }, 0, { insecure: false, healthUrl: `http://b${i}:80/` },
  ));
}

function setup(n: number, settings: Partial<OutlierSettings> = {}) {
  const backends = site(n);
  const out = new Map<Backend, number>();
  const events: string[] = [];
  let now = 0;
  const pending: (() => void)[] = [];
  const target: EjectionTarget = {
    eject: (b, until) => { out.set(b, until); events.push(`eject ${b.url} until ${until}`); },
    restore: (b) => { out.delete(b); events.push(`restore ${b.url}`); },
    siteOf: () => backends,
  };
  const detector = new OutlierDetector({ ...SETTINGS, ...settings }, target, {
    now: () => now, schedule: (fn) => pending.push(fn),
  });
  return {
    backends, out, events, detector,
    advance(ms: number) { now += ms; },
    /** Run what the detector scheduled (it never decides inside record). */
    settle() { while (pending.length > 0) pending.shift()!(); },
  };
}

test('5 consecutive 5xx eject a backend, decided after the request, not inside it', () => {
  const t = setup(4);
  const b = t.backends[0]!;
  for (let i = 0; i < 5; i++) t.detector.record(b, 503);
  assert.equal(t.out.size, 0, 'record only counts');
  t.settle();
  assert.equal(t.out.get(b), 10_000);
});

test('a success in between resets the count', () => {
  const t = setup(4);
  const b = t.backends[0]!;
  for (let i = 0; i < 4; i++) t.detector.record(b, 500);
  t.detector.record(b, 200);
  for (let i = 0; i < 4; i++) t.detector.record(b, 500);
  t.settle();
  assert.equal(t.out.size, 0);
});

test('an ejected backend returns on the first tick after its time, and is ejected longer the second time, capped', () => {
  const t = setup(4);
  const b = t.backends[1]!;
  const fail = () => { for (let i = 0; i < 5; i++) t.detector.record(b, 503); t.settle(); };
  fail();
  assert.equal(t.out.get(b), 10_000);
  t.advance(9_000);
  t.detector.tick();
  assert.ok(t.out.has(b), 'still out before its time');
  t.advance(1_000);
  t.detector.tick();
  assert.equal(t.out.has(b), false, 'back after 10 s');
  fail();
  assert.equal(t.out.get(b), 10_000 + 20_000, 'second ejection: twice the base');
  t.advance(20_000);
  t.detector.tick();
  fail();
  assert.equal(t.out.get(b), 30_000 + 25_000, 'third: capped at the maximum');
  assert.equal(t.detector.counters.ejections, 3);
  assert.equal(t.detector.counters.returns, 2);
});

test('the backoff decays while the backend stays in rotation', () => {
  const t = setup(4);
  const b = t.backends[0]!;
  for (let i = 0; i < 5; i++) t.detector.record(b, 503);
  t.settle();
  t.advance(10_000);
  t.detector.tick(); // back
  t.advance(10_000);
  t.detector.tick(); // a base time in rotation: the multiplier drops back to 0
  for (let i = 0; i < 5; i++) t.detector.record(b, 503);
  t.settle();
  assert.equal(t.out.get(b), 20_000 + 10_000, 'ejected for the base time again');
});

test('never more than the maximum share of a site is ejected', () => {
  const t = setup(4); // 50% of 4: two at most
  for (const b of t.backends) for (let i = 0; i < 5; i++) t.detector.record(b, 503);
  t.settle();
  assert.equal(t.out.size, 2);
  assert.equal(t.detector.counters.refused, 2);
});

test('gateway failures: 502/503/504 and no answer count; a plain 500 breaks the run', () => {
  const t = setup(4, { consecutive5xx: 0, consecutiveGateway: 3 });
  const b = t.backends[0]!;
  t.detector.record(b, 0);
  t.detector.record(b, 502);
  t.detector.record(b, 500);
  t.detector.record(b, 504);
  t.detector.record(b, 0);
  t.settle();
  assert.equal(t.out.size, 0);
  t.detector.record(b, 503);
  t.settle();
  assert.ok(t.out.has(b));
});

test('success rate far below the site mean ejects on the interval tick', () => {
  const t = setup(5, { consecutive5xx: 0, successRateStdev: 1.9 });
  t.backends.forEach((b, i) => {
    for (let r = 0; r < 100; r++) t.detector.record(b, i === 2 && r % 2 === 0 ? 500 : 200);
  });
  t.settle();
  assert.equal(t.out.size, 0, 'success rate is only judged on the tick');
  t.detector.tick();
  assert.deepEqual([...t.out.keys()], [t.backends[2]]);
});

test('success rate needs enough requests and enough backends', () => {
  const few = setup(5, { consecutive5xx: 0, successRateStdev: 1.9 });
  few.backends.forEach((b, i) => { for (let r = 0; r < 5; r++) few.detector.record(b, i === 0 ? 500 : 200); });
  few.detector.tick();
  assert.equal(few.out.size, 0);
  const small = setup(2, { consecutive5xx: 0, successRateStdev: 0.1, maxEjectedShare: 1 });
  small.backends.forEach((b, i) => { for (let r = 0; r < 50; r++) small.detector.record(b, i === 0 ? 500 : 200); });
  small.detector.tick();
  assert.equal(small.out.size, 0);
});

test('an ejection that ran out ends at the next answer, before the tick, and counting starts afresh', () => {
  const t = setup(4);
  const b = t.backends[0]!;
  for (let i = 0; i < 5; i++) t.detector.record(b, 503);
  t.settle();
  t.advance(10_000);
  t.detector.record(b, 503); // the upstream set already lifted it: this answer is from a returned backend
  assert.equal(t.out.has(b), false);
  assert.equal(t.detector.counters.returns, 1);
  for (let i = 0; i < 4; i++) t.detector.record(b, 503);
  t.settle();
  assert.equal(t.out.get(b), 10_000 + 20_000, 'five in a row after the return: ejected again, for twice as long');
});
