// `npm run bench` (through bench/run.sh): one run that measures every target, one at a time,
// against the same 4 nginx backends, and prints a markdown table. See bench/README.md.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSettings, type Settings } from './config.js';
import { startBackends } from './backends.js';
import { verifyPayloads, type Expected } from './http-check.js';
import { pickLoadgen, prepareLoadgen, runLoad, type Loadgen } from './load.js';
import {
  coreBusy, coreTicks, initProcs, killAllNow, sessionCpuSeconds, sessionRssBytes, sleep, start, stop, type Proc,
} from './procs.js';
import { renderTable, saveRun, type Measured, type RunRecord, type TargetResult } from './report.js';
import { buildTargets, type Target } from './targets.js';
import { runH2, verifyPayloadsH2, type H2Result } from './h2.js';

const log = (msg: string): void => console.error(`[bench] ${msg}`);

/** Warm-up, then the measured run; the proxy's CPU and the cores' busy time cover only the latter. */
async function measure(s: Settings, gen: Loadgen, addr: string, urlPath: string, conns: number, proxy: Proc | null): Promise<Measured> {
  const bulk = urlPath !== '/small';
  await runLoad(s, gen, { addr, path: urlPath, conns, seconds: s.warmupS, bulk });
  const ticks0 = coreTicks();
  const cpu0 = proxy ? sessionCpuSeconds(proxy.pid) : 0;
  const r = await runLoad(s, gen, { addr, path: urlPath, conns, seconds: s.durationS, bulk });
  const busy = coreBusy(ticks0, coreTicks());
  const proxyCpuSeconds = proxy ? sessionCpuSeconds(proxy.pid) - cpu0 : null;
  // Let closed connections drain before the next test.
  await sleep(1000);
  return { ...r, busy, proxyCpuSeconds };
}

/** Reads stdout of a child line by line, each wait bounded. */
function lineReader(proc: Proc): (timeoutMs: number) => Promise<string> {
  const lines: string[] = [];
  let partial = '';
  let wake: (() => void) | null = null;
  proc.child.stdout?.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    wake?.();
  });
  return async (timeoutMs) => {
    const until = Date.now() + timeoutMs;
    while (lines.length === 0) {
      if (Date.now() > until) throw new Error(`${proc.name}: no output in ${timeoutMs} ms`);
      await Promise.race([new Promise<void>((resolve) => (wake = resolve)), sleep(200)]);
    }
    return lines.shift() as string;
  };
}

/** Opens N idle keep-alive connections to the proxy (from the load core) and reads its RSS. */
async function idleConnsRss(s: Settings, addr: string, proxy: Proc): Promise<NonNullable<TargetResult['idle']>> {
  const holder = start('idle-conns', 'node', [
    path.join(s.repo, 'dist/bench/idle-conns.js'), addr, String(s.idleConns), '/small', '60',
  ], { cpus: s.pin ? s.loadCpus : null, stdio: 'pipe' });
  try {
    const next = lineReader(holder);
    const { ready, failed } = JSON.parse(await next(45_000)) as { ready: number; failed: number };
    await sleep(500); // let the proxy finish its bookkeeping for the last batch
    const rssBytes = sessionRssBytes(proxy.pid);
    holder.child.stdin?.write('open?\n');
    const { open } = JSON.parse(await next(5_000)) as { open: number };
    return { ready, failed, held: open, rssBytes };
  } finally {
    holder.child.stdin?.end();
    await stop(holder, 2000);
  }
}

/** h2load over TLS: small requests (many streams per connection), then 1 MiB bodies. */
async function measureH2(s: Settings, addr: string, urlPath: string, proxy: Proc | null): Promise<H2Result & { proxyCpuSeconds: number | null }> {
  const big = urlPath !== '/small';
  const cpu0 = proxy ? sessionCpuSeconds(proxy.pid) : 0;
  const r = await runH2(s, {
    addr, path: urlPath, clients: big ? Math.min(4, s.h2Clients) : s.h2Clients, streams: big ? 4 : s.h2Streams,
    seconds: s.durationS, warmupSeconds: s.warmupS,
  });
  const proxyCpuSeconds = proxy ? sessionCpuSeconds(proxy.pid) - cpu0 : null;
  await sleep(1000);
  return { ...r, proxyCpuSeconds };
}

async function benchH2Target(s: Settings, t: Target, res: TargetResult, expected: Expected[]): Promise<void> {
  let proc: Proc | null = null;
  try {
    proc = await t.start();
    await sleep(1000);
    if (proc) res.rssIdleBytes = sessionRssBytes(proc.pid);
    res.verified = await verifyPayloadsH2(t.addr, expected.filter((e) => e.path !== '/64m'));
    log(`${t.name}: h2 bytes ok (${res.verified})`);
    res.h2Small = await measureH2(s, t.addr, '/small', proc);
    res.h2Big = await measureH2(s, t.addr, '/1m', proc);
    log(`${t.name}: h2 ${(res.h2Small.requests / res.h2Small.seconds).toFixed(0)} req/s, ` +
      `${(res.h2Big.bytes / res.h2Big.seconds / 1e6).toFixed(0)} MB/s (1 MiB)`);
  } catch (err) {
    res.error = (err as Error).message;
    log(`${t.name}: FAILED: ${res.error}`);
  } finally {
    await stop(proc);
  }
}

async function benchTarget(s: Settings, gen: Loadgen, t: Target, round: number, expected: Expected[]): Promise<TargetResult> {
  const res: TargetResult = {
    round, target: t.name, addr: t.addr, what: t.what, error: null, verified: null,
    rssIdleBytes: null, idle: null, rssAfterLoadBytes: null, small: null, big: null, huge: null,
    protocol: t.protocol, h2Small: null, h2Big: null,
  };
  if (t.protocol === 'h2') {
    await benchH2Target(s, t, res, expected);
    return res;
  }
  let proc: Proc | null = null;
  try {
    proc = await t.start();
    await sleep(1000); // first health round done, startup garbage settled
    if (proc) res.rssIdleBytes = sessionRssBytes(proc.pid);
    // Idle connections before any bulk transfer, so their cost is not hidden by big buffers.
    if (proc) {
      res.idle = await idleConnsRss(s, t.addr, proc);
      log(`${t.name}: ${res.idle.ready}/${s.idleConns} idle conns ready, ${res.idle.held} still open at the RSS read`);
      await sleep(1000);
    }
    // Exact bytes (length and SHA-256) of every payload before anything is measured.
    res.verified = await verifyPayloads(t.addr, expected);
    log(`${t.name}: bytes ok (${res.verified})`);
    res.small = await measure(s, gen, t.addr, '/small', s.smallConns, proc);
    res.big = await measure(s, gen, t.addr, '/1m', s.bigConns, proc);
    res.huge = await measure(s, gen, t.addr, '/64m', 1, proc);
    if (proc) res.rssAfterLoadBytes = sessionRssBytes(proc.pid);
    log(`${t.name}: ${(res.small.requests / res.small.seconds).toFixed(0)} req/s, ` +
      `${(res.big.bytes / res.big.seconds / 1e6).toFixed(0)} MB/s (1 MiB), ${(res.huge.bytes / res.huge.seconds / 1e6).toFixed(0)} MB/s (64 MiB)`);
  } catch (err) {
    res.error = (err as Error).message;
    log(`${t.name}: FAILED: ${res.error}`);
  } finally {
    await stop(proc);
  }
  return res;
}

/** First line a command prints (stdout, else stderr: `nginx -v` and `wrk -v` use stderr), or 'none'. */
function describe(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { timeout: 5000, encoding: 'utf8' });
  if (r.error) return 'none';
  return (r.stdout.trim() || r.stderr.trim()).split('\n')[0]?.trim() ?? '';
}

async function main(): Promise<void> {
  const s = readSettings();
  fs.mkdirSync(s.state, { recursive: true });
  initProcs(s.state);
  if (!fs.existsSync(path.join(s.repo, 'dist/src/main.js'))) throw new Error('dist/src/main.js missing: run `npm run build` first');
  const gen = pickLoadgen(s);
  await prepareLoadgen(gen);
  let targets = buildTargets(s);
  if (s.only.length) targets = targets.filter((t) => s.only.includes(t.name));
  if (s.only.length && !s.only.includes('direct')) log('note: without the direct target, ÷direct ratios are "-"');

  const gitRev = describe('git', ['-C', s.repo, 'rev-parse', '--short', 'HEAD']);
  const status = describe('git', ['-C', s.repo, 'status', '--porcelain', '--', 'src']);
  const dirty = status !== '' && status !== 'none' && !status.startsWith('fatal');
  const rec: RunRecord = {
    meta: {
      date: new Date().toISOString(), host: os.hostname(), cores: os.cpus().length, pin: s.pin,
      proxy_cpus: s.proxyCpus, load_cpus: s.loadCpus, backend_cpus: s.backendCpus,
      loadgen: gen === 'wrk' ? describe('wrk', ['-v']).split(' ').slice(0, 2).join(' ') : 'autocannon 8.0.0',
      warmup_s: s.warmupS, duration_s: s.durationS, rounds: s.rounds,
      small_conns: s.smallConns, big_conns: s.bigConns, idle_conns: s.idleConns,
      h2_clients: s.h2Clients, h2_streams: s.h2Streams,
      node: process.version, outrigger: `${gitRev}${dirty ? '+uncommitted-src' : ''}`,
      ...(s.baselineRef !== null ? { baseline: s.baselineRef } : {}),
      haproxy: describe('haproxy', ['-v']).split(' ').slice(0, 3).join(' '),
      nginx: describe('nginx', ['-v']).replace('nginx version: ', ''),
    },
    results: [],
  };
  log(`targets: ${targets.map((t) => t.name).join(', ')}; ${s.rounds} round(s); state in ${s.state}`);

  const backends = await startBackends(s);
  try {
    for (let round = 1; round <= s.rounds; round++) {
      for (const t of targets) {
        log(`round ${round}/${s.rounds}: ${t.name} on ${t.addr}`);
        rec.results.push(await benchTarget(s, gen, t, round, backends.expected));
      }
    }
  } finally {
    await stop(backends.proc);
  }

  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  const file = saveRun(rec, path.join(s.state, 'results'), stamp);
  console.log(renderTable(rec));
  log(`raw results: ${file} (and .tsv, .md beside it)`);
  if (rec.results.some((r) => r.error)) process.exitCode = 1;
}

// Whatever happens, no process we started outlives us.
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    log(`${sig}: stopping everything`);
    killAllNow();
    process.exit(130);
  });
}

main().catch((err: unknown) => {
  log(`error: ${(err as Error).stack ?? String(err)}`);
  killAllNow();
  process.exit(1);
});
