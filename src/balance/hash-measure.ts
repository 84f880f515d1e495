/**
 * In-process comparison of the two consistent-hash layouts (a ring with 160 points per backend,
 * a Maglev table of 65,537 slots): lookup cost, balance, build cost, and the share of keys that
 * move when 1 of N backends leaves (ideal: 1/N). Not a test; it printed the figures in the README.
 *
 *   npm run build && node dist/src/balance/hash-measure.js
 */
import { hash32 } from './hash.js';
import { HashRing } from './ring.js';
import { MaglevTable } from './maglev.js';

interface Table {
  lookup(hash: number): number | null;
}
type Build = (members: readonly number[], names: readonly string[]) => Table;

const KEYS = Array.from({ length: 200_000 }, (_, i) => hash32(`user-${i}`));
const LAYOUTS: [string, Build][] = [
  ['ring (160 points)', (m, n) => new HashRing(m, n, 160)],
  ['ring (1000 points)', (m, n) => new HashRing(m, n, 1000)],
  ['maglev (65537)', (m, n) => new MaglevTable(m, n)],
];

function names(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `http://10.0.${i >> 8}.${i & 255}:9000`);
}

function measure(label: string, build: Build, n: number): void {
  const all = names(n);
  const members = all.map((_, i) => i);
  let t = performance.now();
  const table = build(members, all);
  const buildMs = performance.now() - t;
  const counts = new Array<number>(n).fill(0);
  const owner = new Int32Array(KEYS.length);
  for (let k = 0; k < KEYS.length; k++) counts[owner[k] = table.lookup(KEYS[k]!)!]!++;
  const mean = KEYS.length / n;
  const peak = Math.max(...counts) / mean;
  // Backend n-1 leaves: only its keys should move.
  const smaller = build(members.slice(0, n - 1), all.slice(0, n - 1));
  let moved = 0;
  for (let k = 0; k < KEYS.length; k++) if (smaller.lookup(KEYS[k]!) !== owner[k]) moved++;
  const rounds = 10;
  t = performance.now();
  let sink = 0;
  for (let r = 0; r < rounds; r++) for (let k = 0; k < KEYS.length; k++) sink ^= table.lookup(KEYS[k]!)!;
  const ns = ((performance.now() - t) * 1e6) / (rounds * KEYS.length);
  console.log(`${label.padEnd(18)} N=${String(n).padStart(3)}  lookup ${ns.toFixed(1).padStart(5)} ns  ` +
    `max/mean ${peak.toFixed(3)}  moved ${(moved / KEYS.length * 100).toFixed(2)}% (1/N ${(100 / n).toFixed(2)}%)  ` +
    `build ${buildMs.toFixed(1)} ms${sink === -1 ? '' : ''}`);
}

for (const n of [4, 16, 64, 256]) for (const [label, build] of LAYOUTS) measure(label, build, n);
