// Load generation: wrk (C, cheap per request, so the client is rarely the limit) when
// installed. Without wrk: autocannon through npx for small requests (Node, so it needs more
// CPU per request: figures from the two are comparable only within one run) and
// bench/bulk-client.ts for big bodies (autocannon cannot go past ~40 MB/s). Every run is
// bounded by its own duration plus a kill timer.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { Settings } from './config.js';
import { run } from './procs.js';

export interface LoadResult {
  requests: number;
  /** Response bytes read, headers included. */
  bytes: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  /** Connect/read/write errors and timeouts. */
  socketErrors: number;
  non2xx: number;
}

export type Loadgen = 'wrk' | 'autocannon';

// Pinned so the fallback never fetches something newer and different mid-project.
const AUTOCANNON = 'autocannon@8.0.0';

export function pickLoadgen(s: Settings): Loadgen {
  const haveWrk = (() => {
    try {
      execFileSync('wrk', ['-v'], { stdio: 'ignore', timeout: 5000 });
      return true;
    } catch (err) {
      // `wrk -v` prints its version and exits 1; only "not found" means it is missing.
      return (err as NodeJS.ErrnoException).code !== 'ENOENT';
    }
  })();
  if (s.loadgen === 'wrk' && !haveWrk) throw new Error('LOADGEN=wrk but wrk is not installed (apt-get install wrk)');
  if (s.loadgen === 'wrk' || (s.loadgen === 'auto' && haveWrk)) return 'wrk';
  return 'autocannon';
}

/** Makes sure the fallback is fetched before any timed run (npx's first download is slow). */
export async function prepareLoadgen(gen: Loadgen): Promise<void> {
  if (gen !== 'autocannon') return;
  const r = await run('autocannon-fetch', 'npx', ['--yes', AUTOCANNON, '--version'], null, 180_000);
  if (r.code !== 0) {
    throw new Error(`wrk is not installed and autocannon could not be fetched with npx:\n${r.stderr.trim()}\n` +
      'Install wrk (apt-get install wrk) or make the npm registry reachable.');
  }
}

export interface LoadSpec {
  addr: string;
  path: string;
  conns: number;
  seconds: number;
  /** Big bodies: without wrk these go to bulk-client instead of autocannon. */
  bulk: boolean;
}

export async function runLoad(s: Settings, gen: Loadgen, spec: LoadSpec): Promise<LoadResult> {
  const cpus = s.pin ? s.loadCpus : null;
  const url = `http://${spec.addr}${spec.path}`;
  // Generous slack: a 64 MiB response in flight at the end may take a while to finish.
  const limitMs = (spec.seconds + 20) * 1000;
  if (gen === 'wrk') {
    // One wrk thread: it shares one core with the backends (more threads would only contend).
    const threads = s.pin ? 1 : 2;
    const r = await run('wrk', 'wrk', [
      `-t${Math.min(threads, spec.conns)}`, `-c${spec.conns}`, `-d${spec.seconds}s`, '--timeout', '10s',
      '-s', path.join(s.repo, 'bench/wrk-summary.lua'), url,
    ], cpus, limitMs);
    const line = r.stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
    if (!line) throw new Error(`wrk ${url} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
    const j = JSON.parse(line.slice('BENCH_RESULT '.length)) as Record<string, number>;
    return {
      requests: j.requests ?? 0,
      bytes: j.bytes ?? 0,
      seconds: (j.duration_us ?? 0) / 1e6,
      p50Ms: (j.p50_us ?? 0) / 1000,
      p99Ms: (j.p99_us ?? 0) / 1000,
      socketErrors: j.socket_errors ?? 0,
      non2xx: j.non2xx ?? 0,
    };
  }
  if (spec.bulk) {
    const r = await run('bulk-client', 'node', [
      path.join(s.repo, 'dist/bench/bulk-client.js'), url, String(spec.conns), String(spec.seconds),
    ], cpus, limitMs);
    const line = r.stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
    if (!line) throw new Error(`bulk-client ${url} failed (exit ${r.code}):\n${r.stderr}`);
    return JSON.parse(line.slice('BENCH_RESULT '.length)) as LoadResult;
  }
  const r = await run('autocannon', 'npx', [
    '--yes', AUTOCANNON, '--json', '-c', String(spec.conns), '-d', String(spec.seconds), '-t', '10', url,
  ], cpus, limitMs + 30_000);
  const jsonLine = r.stdout.split('\n').reverse().find((l) => l.trim().startsWith('{'));
  if (!jsonLine) throw new Error(`autocannon ${url} failed (exit ${r.code}):\n${r.stderr}`);
  const j = JSON.parse(jsonLine) as {
    requests: { total: number }; throughput: { total: number }; duration: number;
    latency: { p50: number; p99: number }; errors: number; timeouts: number; non2xx: number;
  };
  return {
    requests: j.requests.total,
    bytes: j.throughput.total,
    seconds: j.duration,
    p50Ms: j.latency.p50,
    p99Ms: j.latency.p99,
    socketErrors: j.errors, // autocannon counts its timeouts among the errors
    non2xx: j.non2xx,
  };
}
