// Results: the raw record of one run, the files it is saved to, and the markdown table.
// Ratios are taken per round (each target against the direct and haproxy rows measured in the
// same round, since the machine's speed drifts between rounds), then the median is shown.
//
// Re-render a saved run:  node dist/bench/report.js /tmp/outrigger-bench-repo/results/run-*.json
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LoadResult } from './load.js';
import type { H2Result } from './h2.js';

export interface Measured extends LoadResult {
  /** Busy % per core over the measured window (core 0 = proxy, core 1 = load + backends). */
  busy: number[];
  /** The proxy's CPU seconds over the measured window (null for direct). */
  proxyCpuSeconds: number | null;
}

export interface TargetResult {
  round: number;
  target: string;
  addr: string;
  what: string;
  /** Why the target was not measured (did not start, wrong bytes, ...), or null. */
  error: string | null;
  verified: string | null;
  rssIdleBytes: number | null;
  idle: { ready: number; failed: number; held: number; rssBytes: number } | null;
  rssAfterLoadBytes: number | null;
  small: Measured | null;
  big: Measured | null;
  huge: Measured | null;
  /** 'h2' rows are measured with h2load (small and 1 MiB only); absent in records older than the h2 rows. */
  protocol?: 'h1' | 'h2';
  h2Small?: H2Measured | null;
  h2Big?: H2Measured | null;
}

export interface H2Measured extends H2Result {
  proxyCpuSeconds: number | null;
}

export interface RunRecord {
  meta: Record<string, string | number | boolean>;
  results: TargetResult[];
}

const rps = (m: Measured | null): number => (m && m.seconds > 0 ? m.requests / m.seconds : NaN);
const mbps = (m: Measured | null): number => (m && m.seconds > 0 ? m.bytes / m.seconds / 1e6 : NaN);
const mib = (b: number | null | undefined): number => (b == null ? NaN : b / (1 << 20));
const cpuUs = (r: TargetResult): number =>
  r.small?.proxyCpuSeconds != null && r.small.requests > 0 ? (r.small.proxyCpuSeconds / r.small.requests) * 1e6 : NaN;
const errors = (r: TargetResult): number =>
  [r.small, r.big, r.huge].reduce((n, m) => n + (m ? m.socketErrors + m.non2xx : 0), 0);

function median(xs: number[]): number {
  const a = xs.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  if (a.length === 0) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? (a[m] as number) : ((a[m - 1] as number) + (a[m] as number)) / 2;
}

const fmt = (x: number, digits = 0): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');

/** "median (min–max)" when there are several rounds, else the one value. */
function spread(xs: number[], digits = 0): string {
  const a = xs.filter((x) => Number.isFinite(x));
  if (a.length < 2) return fmt(median(a), digits);
  return `${fmt(median(a), digits)} (${fmt(Math.min(...a), digits)}–${fmt(Math.max(...a), digits)})`;
}

export function renderTable(rec: RunRecord): string {
  const rounds = [...new Set(rec.results.map((r) => r.round))];
  const order = [...new Set(rec.results.filter((r) => r.protocol !== 'h2').map((r) => r.target))];
  const inRound = (round: number, target: string): TargetResult | undefined =>
    rec.results.find((r) => r.round === round && r.target === target && !r.error);

  const lines: string[] = [];
  const m = rec.meta;
  lines.push(`<!-- ${Object.entries(m).map(([k, v]) => `${k}=${v}`).join(' ')} -->`);
  lines.push(
    `${rounds.length > 1 ? `Medians over ${rounds.length} rounds (min–max for req/s)` : 'One round'}; ` +
      `warm-up ${m.warmup_s} s, measure ${m.duration_s} s per test, load generator ${m.loadgen}, pin=${m.pin}.`,
  );
  lines.push('');
  lines.push(
    '| target | small req/s | p50 ms | p99 ms | 1 MiB MB/s | 64 MiB MB/s (1 conn) | CPU µs/req | RSS idle MiB | ' +
      `RSS ${m.idle_conns} idle conns MiB | busy core0/core1 % (small) | ÷direct small · 1M · 64M | ÷haproxy small · 1M · 64M | errors |`,
  );
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---:|');
  for (const target of order) {
    const rows = rounds.map((round) => inRound(round, target)).filter((r): r is TargetResult => r !== undefined);
    if (rows.length === 0) {
      const failed = rec.results.find((r) => r.target === target && r.error);
      lines.push(`| ${target} | failed: ${(failed?.error ?? '?').split('\n')[0]?.replace(/\|/g, '/')} |${' - |'.repeat(11)}`);
      continue;
    }
    // Per-round ratio of metric f against target `ref` of that round, then the median.
    const ratio = (ref: string, f: (r: TargetResult) => number): string =>
      fmt(median(rows.map((r) => {
        const base = inRound(r.round, ref);
        return base ? f(r) / f(base) : NaN;
      })), 2);
    const ratios = (ref: string): string =>
      [ratio(ref, (r) => rps(r.small)), ratio(ref, (r) => mbps(r.big)), ratio(ref, (r) => mbps(r.huge))].join(' · ');
    const idle = rows.map((r) => r.idle);
    const held = median(idle.map((i) => (i ? i.held : NaN)));
    const idleMiB = fmt(median(idle.map((i) => mib(i?.rssBytes))));
    const idleCell = Number.isFinite(held) && held < Number(m.idle_conns) ? `${idleMiB} (only ${held} held)` : idleMiB;
    const busy = (i: number): string => fmt(median(rows.map((r) => r.small?.busy[i] ?? NaN)));
    lines.push(
      `| ${target} | ${spread(rows.map((r) => rps(r.small)))} | ${fmt(median(rows.map((r) => r.small?.p50Ms ?? NaN)), 2)} | ` +
        `${fmt(median(rows.map((r) => r.small?.p99Ms ?? NaN)), 2)} | ${fmt(median(rows.map((r) => mbps(r.big))))} | ` +
        `${fmt(median(rows.map((r) => mbps(r.huge))))} | ${fmt(median(rows.map(cpuUs)), 1)} | ` +
        `${fmt(median(rows.map((r) => mib(r.rssIdleBytes))))} | ${idleCell} | ${busy(0)} / ${busy(1)} | ` +
        `${ratios('direct')} | ${ratios('haproxy')} | ${Math.max(...rows.map(errors))} |`,
    );
  }
  lines.push(...renderH2Table(rec));
  lines.push('');
  lines.push('Targets:');
  for (const target of [...new Set(rec.results.map((r) => r.target))]) {
    const r = rec.results.find((x) => x.target === target);
    if (r) lines.push(`- ${target} (${r.addr}): ${r.what}`);
  }
  return lines.join('\n');
}

const h2rps = (m: H2Measured | null | undefined): number => (m && m.seconds > 0 ? m.requests / m.seconds : NaN);
const h2mbps = (m: H2Measured | null | undefined): number => (m && m.seconds > 0 ? m.bytes / m.seconds / 1e6 : NaN);

/** The HTTP/2 rows (h2load over TLS), ratios against haproxy-h2 of the same round. */
function renderH2Table(rec: RunRecord): string[] {
  const h2 = rec.results.filter((r) => r.protocol === 'h2');
  if (h2.length === 0) return [];
  const rounds = [...new Set(h2.map((r) => r.round))];
  const order = [...new Set(h2.map((r) => r.target))];
  const inRound = (round: number, target: string): TargetResult | undefined =>
    h2.find((r) => r.round === round && r.target === target && !r.error);
  const lines = [
    '',
    `HTTP/2 over TLS (h2load, ${rec.meta.h2_clients ?? 16} clients × ${rec.meta.h2_streams ?? 10} streams for small; 4 × 4 for 1 MiB):`,
    '',
    '| target | h2 small req/s | mean ms | h2 1 MiB MB/s | CPU µs/req | RSS idle MiB | ÷haproxy-h2 small · 1M | errors |',
    '|---|---:|---:|---:|---:|---:|---|---:|',
  ];
  for (const target of order) {
    const rows = rounds.map((round) => inRound(round, target)).filter((r): r is TargetResult => r !== undefined);
    if (rows.length === 0) {
      const failed = h2.find((r) => r.target === target && r.error);
      lines.push(`| ${target} | failed: ${(failed?.error ?? '?').split('\n')[0]?.replace(/\|/g, '/')} |${' - |'.repeat(6)}`);
      continue;
    }
    const ratio = (f: (r: TargetResult) => number): string =>
      fmt(median(rows.map((r) => {
        const base = inRound(r.round, 'haproxy-h2');
        return base ? f(r) / f(base) : NaN;
      })), 2);
    const cpu = (r: TargetResult): number =>
      r.h2Small?.proxyCpuSeconds != null && r.h2Small.requests > 0 ? (r.h2Small.proxyCpuSeconds / r.h2Small.requests) * 1e6 : NaN;
    lines.push(
      `| ${target} | ${spread(rows.map((r) => h2rps(r.h2Small)))} | ${fmt(median(rows.map((r) => r.h2Small?.meanMs ?? NaN)), 2)} | ` +
        `${fmt(median(rows.map((r) => h2mbps(r.h2Big))))} | ${fmt(median(rows.map(cpu)), 1)} | ` +
        `${fmt(median(rows.map((r) => mib(r.rssIdleBytes))))} | ` +
        `${ratio((r) => h2rps(r.h2Small))} · ${ratio((r) => h2mbps(r.h2Big))} | ` +
        `${Math.max(...rows.map((r) => (r.h2Small?.errors ?? 0) + (r.h2Big?.errors ?? 0)))} |`,
    );
  }
  return lines;
}

/** One line per target and round, for spreadsheets and diffing. */
export function renderTsv(rec: RunRecord): string {
  const head = [
    'round', 'target', 'small_rps', 'small_p50_ms', 'small_p99_ms', 'big_mbps', 'huge_mbps', 'cpu_us_per_req',
    'rss_idle_mib', 'rss_idle_conns_mib', 'idle_held', 'rss_after_load_mib', 'busy_core0', 'busy_core1',
    'errors', 'verified', 'error',
  ];
  const rows = rec.results.map((r) => [
    r.round, r.target, fmt(rps(r.small), 1), fmt(r.small?.p50Ms ?? NaN, 3), fmt(r.small?.p99Ms ?? NaN, 3),
    fmt(mbps(r.big), 1), fmt(mbps(r.huge), 1), fmt(cpuUs(r), 2), fmt(mib(r.rssIdleBytes), 1),
    fmt(mib(r.idle?.rssBytes), 1), r.idle?.held ?? '-', fmt(mib(r.rssAfterLoadBytes), 1),
    r.small?.busy[0] ?? '-', r.small?.busy[1] ?? '-', errors(r), r.verified ?? '-',
    (r.error ?? '').split('\n')[0] ?? '',
  ].join('\t'));
  return [head.join('\t'), ...rows].join('\n') + '\n';
}

/** Writes run-STAMP.json (everything) and run-STAMP.tsv; returns the JSON path. */
export function saveRun(rec: RunRecord, dir: string, stamp: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, `run-${stamp}.json`);
  fs.writeFileSync(json, JSON.stringify(rec, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, `run-${stamp}.tsv`), renderTsv(rec));
  fs.writeFileSync(path.join(dir, `run-${stamp}.md`), renderTable(rec) + '\n');
  return json;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node dist/bench/report.js RUN.json');
    process.exit(2);
  }
  console.log(renderTable(JSON.parse(fs.readFileSync(file, 'utf8')) as RunRecord));
}
