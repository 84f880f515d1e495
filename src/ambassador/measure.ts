/**
 * In-process cost of each ambassador decision per request (no sockets): what a feature adds to
 * a request's CPU time before any I/O. Not a test; the bench rows measure the features end to end.
 *
 *   npm run build && node dist/src/ambassador/measure.js
 */
import type { SiteSpec } from '../config/types.js';
import { UpstreamSet } from '../upstream/upstream-set.js';
import { Chooser, type ChooserOptions } from '../balance/chooser.js';
import type { KeySource } from '../balance/hash-key.js';
import { RateLimiter } from '../limit/rate-limiter.js';
import { OutlierDetector } from '../outlier/detector.js';

const N = 1_000_000;

function upstreams(n: number): UpstreamSet {
  const spec: SiteSpec = {
    index: 0, source: '',
    backends: Array.from({ length: n }, (_, i) => ({ url: `http://10.0.0.${i}:9000`, protocol: 'http:' as const, hostname: `10.0.0.${i}`, port: 9000, basePath: '' })),
  };
  const set = new UpstreamSet([spec], { healthPath: '/', readHealthPath: '/', healthPort: 0, insecure: false, hostBalance: 'least' });
  for (const b of set.backends()) set.probeResult(b, true, '', 1, 1);
  return set;
}

const requests: KeySource[] = Array.from({ length: 1024 }, (_, i) => ({
  clientIp: `10.1.${i >> 8}.${i & 255}`, target: `/bucket/object-${i}`,
  header: (name: string) => (name === 'x-user' ? `user-${i}` : undefined), cookie: () => undefined, query: () => undefined,
}));

function time(label: string, fn: (i: number) => unknown): void {
  for (let i = 0; i < N / 10; i++) fn(i);
  const t = performance.now();
  for (let i = 0; i < N; i++) fn(i);
  console.log(`${label.padEnd(48)} ${(((performance.now() - t) * 1e6) / N).toFixed(0).padStart(5)} ns/request`);
}

const set = upstreams(4);
const base: ChooserOptions = { hostBalance: 'least', hashKey: undefined, hashBalanceFactor: 0, stickyCookie: undefined, split: undefined };
time('pick: least (the default, for comparison)', (i) => set.pick(null) ?? i);
const hash = new Chooser(set, { ...base, hostBalance: 'hash', hashKey: { kind: 'header', name: 'x-user' } });
time('pick: hash on a header (4 backends)', (i) => hash.pick(requests[i & 1023]!, null));
const bounded = new Chooser(set, { ...base, hostBalance: 'hash', hashKey: { kind: 'header', name: 'x-user' }, hashBalanceFactor: 1.25 });
time('pick: hash + bounded loads 1.25', (i) => bounded.pick(requests[i & 1023]!, null));
const sticky = new Chooser(set, { ...base, stickyCookie: 'lb' });
time('pick: sticky cookie, none sent (hash fallback)', (i) => sticky.pick(requests[i & 1023]!, null));
const split = new Chooser(upstreams(2), { ...base, split: [95, 5] });
time('pick: split 95/5, no key', (i) => split.pick(requests[i & 1023]!, null));
const limiter = new RateLimiter([{ rate: 1e9, burst: 1e9, by: { kind: 'client' }, prefix: '/', text: '' }]);
time('rate limit: 1,024 clients, never refused', (i) => limiter.check({ clientIp: requests[i & 1023]!.clientIp, target: '/x', header: () => undefined }));
const backend = set.backends()[0]!;
const detector = new OutlierDetector({
  consecutive5xx: 5, consecutiveGateway: 0, successRateStdev: 1.9, successRateMinRequests: 20, successRateMinHosts: 3,
  intervalMs: 10_000, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectedShare: 0.5,
}, { eject: () => {}, restore: () => {}, siteOf: () => set.backends() });
time('outlier: record a 200', () => detector.record(backend, 200));
