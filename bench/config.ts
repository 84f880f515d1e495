// Benchmark settings, all from the environment so `npm run bench` needs no arguments.
// Defaults follow the steering team's method (shared/bench/PEERS.md): proxy alone on core 0,
// load generator and backends on core 1, so every proxy gets exactly one core.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Settings {
  /** Repository root (outrigger is run from dist/src/main.js there). */
  repo: string;
  /** Runtime state: configs, logs, pid files, payloads, results. Never inside the repo. */
  state: string;
  pin: boolean;
  proxyCpus: string;
  loadCpus: string;
  backendCpus: string;
  backendPorts: number[];
  /** Proxies listen on proxyPortBase+1, +2, ... (one port per target). */
  proxyPortBase: number;
  healthPath: string;
  warmupS: number;
  durationS: number;
  rounds: number;
  smallConns: number;
  bigConns: number;
  idleConns: number;
  /** Only these targets (TARGETS=direct,haproxy,...), or all when empty. */
  only: string[];
  /** wrk (default when installed) or autocannon (fallback, or forced with LOADGEN=autocannon). */
  loadgen: 'wrk' | 'autocannon' | 'auto';
  /** Extra flags for outrigger, e.g. OUTRIGGER_ARGS='--host-balance round-robin'. */
  outriggerArgs: string[];
  /** BASELINE=<git ref>: that commit, built by bench/baseline.sh into baselineDir, runs as outrigger-base. */
  baselineRef: string | null;
  baselineDir: string | null;
  /** h2load clients and concurrent streams per client for the h2 rows. */
  h2Clients: number;
  h2Streams: number;
}

function num(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got '${raw}'`);
  return n;
}

function words(raw: string | undefined): string[] {
  return (raw ?? '').split(/[\s,]+/).filter(Boolean);
}

export function readSettings(): Settings {
  // dist/bench/config.js -> repo root is two levels up; bench/config.ts (ts-node style) one up.
  const here = path.dirname(fileURLToPath(import.meta.url));
  const repo = path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '../..') : path.resolve(here, '..');
  const ports = words(process.env.BACKEND_PORTS ?? '19001 19002 19003 19004').map(Number);
  if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p <= 0 || p > 65535)) {
    throw new Error(`BACKEND_PORTS must list ports, got '${process.env.BACKEND_PORTS}'`);
  }
  const loadgen = process.env.LOADGEN ?? 'auto';
  if (loadgen !== 'wrk' && loadgen !== 'autocannon' && loadgen !== 'auto') {
    throw new Error(`LOADGEN must be wrk, autocannon or auto, got '${loadgen}'`);
  }
  return {
    repo,
    state: process.env.BENCH_STATE ?? '/tmp/outrigger-bench-repo',
    pin: process.env.PIN !== '0',
    proxyCpus: process.env.PROXY_CPUS ?? '0',
    loadCpus: process.env.LOADGEN_CPUS ?? '1',
    backendCpus: process.env.BACKEND_CPUS ?? '1',
    backendPorts: ports,
    proxyPortBase: num('PROXY_PORT_BASE', 19100),
    healthPath: process.env.HEALTH_PATH ?? '/health',
    warmupS: num('WARMUP', 2),
    durationS: num('DURATION', 8),
    rounds: Math.floor(num('ROUNDS', 1)),
    smallConns: Math.floor(num('SMALL_CONNS', 64)),
    bigConns: Math.floor(num('BIG_CONNS', 16)),
    idleConns: Math.floor(num('IDLE_CONNS', 1000)),
    only: words(process.env.TARGETS),
    loadgen,
    outriggerArgs: words(process.env.OUTRIGGER_ARGS),
    baselineRef: process.env.BASELINE || null,
    baselineDir: process.env.BASELINE_DIR || null,
    h2Clients: Math.floor(num('H2_CLIENTS', 16)),
    h2Streams: Math.floor(num('H2_STREAMS', 10)),
  };
}
