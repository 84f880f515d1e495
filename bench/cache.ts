// The shared cache's benchmarks against the targets, all rows in one run. Part of
// `npm run bench` (bench/run.sh runs it after the matrix when TARGETS is unset or names `cache`);
// alone: `npm run build && node dist/bench/cache.js` (nginx-light, wrk and Swift installed).
// 1. store-tier hit vs the store's own GET of the same 64 MiB object: TTFB and MiB/s (medians of 5)
//    target: TTFB ≤ 1.2× the store's, throughput ≥ 0.9× the store's. The store's GET is of a plain
//    object (one PutObject); beside it, the store's GET of the very object the fill stored (same key),
//    so the layout the fill chose (plain or multipart) is visible apart from the hit's own cost.
// 2. memory-tier hit of a 100 B object vs proxying it to nginx with the cache off, and nginx itself
//    (wrk req/s, DURATION s each)   target: ≥ the proxied req/s
// 3. a miss with the tee vs the same misses with the cache off (100 × 1 MiB, distinct URLs), back to back
//    and isolated (each once no proxy has store work left running)   target: ≤ 5 % slower
// 4. Outrigger's peak RSS while 8 fills of 256 MiB run at once, against the bound (32 MiB held per fill), and how many were stored
// Every process is stopped by PID at the end; every load is bounded in time or count.
// CACHE_ROWS=1,2 runs only those rows (default: all four).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readSettings } from './config.js';
import { startBackends } from './backends.js';
import { initProcs, sessionCpuSeconds, sessionRssBytes, sleep, start, stop, type Proc } from './procs.js';
import { pickLoadgen, prepareLoadgen, runLoad } from './load.js';
import { sharedSwift } from '../test/support/swift.js';

const MiB = 1 << 20;
/** Pace of each of the 8 concurrent 256 MiB fills: 8 × 6 = 48 MiB/s, what Swift on a shared 2-core box takes (at 12 some fills are given up by design). */
const FILL_MIBPS = Number(process.env.CACHE_FILL_MIBPS ?? 6);
/** CACHE_INDEX=30s: row 3 also runs a proxy with `--cache-index 30s` (misses skip the store lookup for keys the store does not hold). */
const INDEX = process.env.CACHE_INDEX ?? '';
/** Quiet before each isolated miss, once no proxy has a store call running (CACHE_SETTLE_MS). */
const SETTLE_MS = Number(process.env.CACHE_SETTLE_MS ?? 30);
const ROWS = new Set((process.env.CACHE_ROWS ?? '1,2,3,4').split(/[\s,]+/).filter((r) => r !== '').map(Number));
const s = readSettings();
initProcs(s.state);
/** The Outrigger under test: this checkout's, or another build's (CACHE_OUTRIGGER_MAIN=/old/dist/src/main.js for a before/after in one setup). */
const OUTRIGGER_MAIN = process.env.CACHE_OUTRIGGER_MAIN ?? path.join(s.repo, 'dist/src/main.js');
const procs: Proc[] = [];
const log = (msg: string): void => console.error(`[bench cache] ${msg}`);

interface Timed { status: number; ttfbMs: number; totalMs: number; bytes: number; cacheStatus: string }

/**
 * One GET, timed from the request to the first body byte and to the end. `mibps` reads no faster
 * than that: a fill from a local nginx outruns any store, and a store slower than the client loses
 * the fill by design (the client is never slowed), so the GETs that must fill read at a store's pace.
 */
function timedGet(url: string, headers: Record<string, string> = {}, mibps = 0): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let ttfbMs = -1;
    let bytes = 0;
    const req = http.get(url, { agent: false, headers, timeout: 60_000 }, (res) => {
      res.on('data', (d: Buffer) => {
        if (ttfbMs < 0) ttfbMs = performance.now() - t0;
        bytes += d.length;
        const ahead = (bytes / MiB / mibps) * 1000 - (performance.now() - t0);
        if (mibps > 0 && ahead > 5) {
          res.pause();
          setTimeout(() => res.resume(), ahead);
        }
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, ttfbMs, totalMs: performance.now() - t0, bytes, cacheStatus: String(res.headers['cache-status'] ?? '') }));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`${url}: no answer in 60 s`)));
    req.once('error', reject);
  });
}

/** Waits (at most 60 s) until `url` is a hit: the fill of the first GET has completed. */
async function untilStored(url: string): Promise<void> {
  const until = Date.now() + 60_000;
  while ((await timedGet(url, { 'cache-control': 'only-if-cached' })).status !== 200) {
    if (Date.now() > until) throw new Error(`${url} was not stored within 60 s`);
    await sleep(100);
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Starts Outrigger on a fixed port with `args`; resolves once it listens (and its cache store is up). */
async function outrigger(name: string, port: number, args: string[]): Promise<Proc> {
  const proc = start(name, process.execPath, [OUTRIGGER_MAIN, '--address', `127.0.0.1:${port}`,
    '--health-path', s.healthPath, ...args, `http://127.0.0.1:${s.backendPorts[0]}`], { cpus: s.pin ? s.proxyCpus : null });
  procs.push(proc);
  const ready = args.includes('--cache-endpoint') ? /cache store .* is up/ : /listening/;
  for (let i = 0; i < 300; i++) {
    if (ready.test(fs.readFileSync(proc.log, 'utf8'))) return proc;
    await sleep(100);
  }
  throw new Error(`${name} did not start: ${fs.readFileSync(proc.log, 'utf8')}`);
}

/** The store's own GET of a key, timed like timedGet. */
async function storeGet(s3: S3Client, bucket: string, key: string): Promise<Timed> {
  const t0 = performance.now();
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  let ttfbMs = -1;
  let bytes = 0;
  for await (const chunk of out.Body as AsyncIterable<Buffer>) { if (ttfbMs < 0) ttfbMs = performance.now() - t0; bytes += chunk.length; }
  return { status: 200, ttfbMs, totalMs: performance.now() - t0, bytes, cacheStatus: '' };
}

const verdict = (ok: boolean): string => (ok ? 'meets the target' : 'MISSES the target');

async function main(): Promise<void> {
  const swift = await sharedSwift();
  const bucket = `bench-${Date.now()}`;
  const s3 = new S3Client({ endpoint: swift.endpoint, region: swift.region, forcePathStyle: true,
    credentials: { accessKeyId: swift.accessKey, secretAccessKey: swift.secretKey } });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const backends = await startBackends(s);
  procs.push(backends.proc);
  const www = path.join(s.state, 'backends', 'www');
  fs.writeFileSync(path.join(www, '256m'), randomBytes(1));
  fs.truncateSync(path.join(www, '256m'), 256 * MiB);
  fs.chmodSync(path.join(www, '256m'), 0o644);
  // Old files: nginx's Last-Modified then gives a heuristic lifetime of days (no Cache-Control needed).
  const old = new Date(Date.now() - 30 * 86_400_000);
  for (const f of ['small', '1m', '64m', '256m']) fs.utimesSync(path.join(www, f), old, old);
  const cache = ['--cache-endpoint', swift.endpoint, '--cache-access-key', swift.accessKey, '--cache-secret-key', swift.secretKey,
    '--cache-bucket', bucket, '--cache-min-size', '0'];
  const base = s.proxyPortBase;
  const noCache = await outrigger('outrigger-nocache', base + 1, []);
  const memory = await outrigger('outrigger-cache', base + 2, cache);
  const storeOnly = await outrigger('outrigger-cache-store', base + 3, [...cache, '--cache-memory', '0']);
  const lines: string[] = [`cache benchmarks, ${new Date().toISOString()}, node ${process.version}, pin ${s.pin}, DURATION ${s.durationS}s`];

  // The same store-tier hits without read-ahead (one GET per hit), to show what read-ahead buys.
  if (ROWS.has(1)) await outrigger('outrigger-cache-store-no-read-ahead', base + 5, [...cache, '--cache-memory', '0', '--cache-read-ahead', '0']);
  if (ROWS.has(1)) lines.push(...await storeTierRow(s3, bucket, www, base, storeOnly));
  if (ROWS.has(2)) lines.push(...await memoryTierRow(base, { [base + 1]: noCache, [base + 2]: memory }));
  const indexed = ROWS.has(3) && INDEX !== '' ? await outrigger('outrigger-cache-index', base + 4, [...cache, '--cache-index', INDEX]) : null;
  if (ROWS.has(3)) lines.push(...await teeRow(base, noCache, memory, indexed, () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: `missing/${Date.now()}/body` }))));
  if (ROWS.has(4)) lines.push(...await fillsRssRow(base, storeOnly));
  console.log(lines.join('\n'));
  s3.destroy();
}

/** 1. store-tier hit vs the store's GET of the same bytes (64 MiB, 5 each, interleaved, medians). */
async function storeTierRow(s3: S3Client, bucket: string, www: string, base: number, storeOnly: Proc): Promise<string[]> {
  const lines: string[] = [];
  log('1/4 store-tier hit vs store GET (64 MiB)');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'direct/64m', Body: fs.readFileSync(path.join(www, '64m')) }));
  await timedGet(`http://127.0.0.1:${base + 3}/64m`, {}, 40);
  await untilStored(`http://127.0.0.1:${base + 3}/64m`);
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  const filledKey = listed.Contents?.find((o) => o.Size === 64 * MiB && o.Key?.endsWith('/body'))?.Key;
  if (filledKey === undefined) throw new Error('the fill of /64m stored no 64 MiB body');
  const direct: Timed[] = [];
  const filled: Timed[] = [];
  const viaCache: Timed[] = [];
  const oneGet: Timed[] = [];
  let hitCpu = 0;
  for (let i = 0; i < 5; i++) {
    direct.push(await storeGet(s3, bucket, 'direct/64m'));
    filled.push(await storeGet(s3, bucket, filledKey));
    const cpu0 = sessionCpuSeconds(storeOnly.pid);
    viaCache.push(await timedGet(`http://127.0.0.1:${base + 3}/64m`));
    hitCpu += sessionCpuSeconds(storeOnly.pid) - cpu0;
    oneGet.push(await timedGet(`http://127.0.0.1:${base + 5}/64m`));
  }
  const mibps = (t: Timed[]): number => median(t.map((x) => x.bytes / MiB / (x.totalMs / 1000)));
  const ttfb = (t: Timed[]): number => median(t.map((x) => x.ttfbMs));
  lines.push(`store GET 64 MiB:          TTFB ${ttfb(direct).toFixed(1)} ms, ${mibps(direct).toFixed(0)} MiB/s  (a plain object, one PutObject)`);
  lines.push(`store GET, the fill's key: TTFB ${ttfb(filled).toFixed(1)} ms, ${mibps(filled).toFixed(0)} MiB/s  (the object the fill stored, ETag ${listed.Contents?.find((o) => o.Key === filledKey)?.ETag ?? '?'})`);
  lines.push(`store-tier hit 64 MiB:     TTFB ${ttfb(viaCache).toFixed(1)} ms, ${mibps(viaCache).toFixed(0)} MiB/s  (${viaCache[0]!.cacheStatus}; Outrigger CPU ${(hitCpu / 5 * 1000).toFixed(0)} ms per hit)`);
  lines.push(`  the same hit, --cache-read-ahead 0: TTFB ${ttfb(oneGet).toFixed(1)} ms, ${mibps(oneGet).toFixed(0)} MiB/s (read-ahead/one GET: ${(mibps(viaCache) / mibps(oneGet)).toFixed(2)}×)`);
  const ttfbRatio = ttfb(viaCache) / ttfb(direct);
  const tputRatio = mibps(viaCache) / mibps(direct);
  lines.push(`  hit/store: TTFB ${ttfbRatio.toFixed(2)}× (≤ 1.2×: ${verdict(ttfbRatio <= 1.2)}), throughput ${tputRatio.toFixed(2)}× (≥ 0.9×: ${verdict(tputRatio >= 0.9)})`);
  lines.push(`  hit/store GET of the fill's key: TTFB ${(ttfb(viaCache) / ttfb(filled)).toFixed(2)}×, throughput ${(mibps(viaCache) / mibps(filled)).toFixed(2)}×`);
  return lines;
}

/** 2. memory-tier hit vs the cache off (proxied to nginx) vs nginx itself (wrk, 100 B), with Outrigger's CPU per request. */
async function memoryTierRow(base: number, proxies: Record<number, Proc>): Promise<string[]> {
  const lines: string[] = [];
  log('2/4 memory-tier hit vs no cache vs nginx (100 B)');
  const gen = pickLoadgen(s);
  await prepareLoadgen(gen);
  await timedGet(`http://127.0.0.1:${base + 2}/small`);
  await untilStored(`http://127.0.0.1:${base + 2}/small`);
  const rates: Record<string, number> = {};
  for (const [label, port] of [['nginx itself', s.backendPorts[0]!], ['cache off, proxied to nginx', base + 1], ['memory-tier hit', base + 2]] as const) {
    const proxy = proxies[port];
    const cpu0 = proxy === undefined ? 0 : sessionCpuSeconds(proxy.pid);
    const r = await runLoad(s, gen, { addr: `127.0.0.1:${port}`, path: '/small', conns: s.smallConns, seconds: s.durationS, bulk: false });
    const cpu = proxy === undefined ? '' : `, Outrigger CPU ${((sessionCpuSeconds(proxy.pid) - cpu0) / r.requests * 1e6).toFixed(1)} µs/req`;
    rates[label] = r.requests / r.seconds;
    lines.push(`${label.padEnd(27)} 100 B: ${rates[label]!.toFixed(0)} req/s (${r.non2xx + r.socketErrors} errors${cpu})`);
  }
  const memRatio = rates['memory-tier hit']! / rates['cache off, proxied to nginx']!;
  lines.push(`  memory hit/cache off: ${memRatio.toFixed(2)}× (≥ 1: ${verdict(memRatio >= 1)})`);
  return lines;
}

/**
 * 3. tee overhead: 100 misses of 1 MiB (distinct URLs) with the cache vs without, interleaved in 4
 * blocks, back to back (a miss's background store work overlaps the next request on the same
 * cores); then isolated misses, each sent once no proxy has a store call left running: what one
 * client sees of a miss, apart from the fleet's cost of the fill.
 */
async function teeRow(base: number, off: Proc, withCache: Proc, indexed: Proc | null, lookup: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  log('3/4 miss with tee vs cache off (100 × 1 MiB)');
  // The lookup-only run splits a miss's cost: a request `no-store` is looked up in the store but
  // never stored (RFC 9111 §5.2.1.5), so it pays the lookup without the tee.
  const runs: TeeRun[] = [teeRun('cache off', base + 1, off), teeRun('miss, lookup only (request no-store)', base + 2, withCache, { 'cache-control': 'no-store' }, false),
    teeRun('miss + tee', base + 2, withCache)];
  if (indexed !== null) runs.push(teeRun(`miss + tee, --cache-index ${INDEX}`, base + 4, indexed));
  // With the index a request no-store is neither looked up nor stored: the cache's own work on a miss, without the tee.
  if (indexed !== null) runs.push(teeRun(`miss, no store call (request no-store), --cache-index ${INDEX}`, base + 4, indexed, { 'cache-control': 'no-store' }));
  for (let block = 0; block < 4; block++) {
    for (const run of runs) {
      const cpu0 = sessionCpuSeconds(run.proc.pid);
      const t0 = performance.now();
      for (let i = 0; i < 25; i++) run.ttfb.push((await timedGet(`http://127.0.0.1:${run.port}/1m?tee=${Date.now()}-${block}-${i}`, run.headers)).ttfbMs);
      run.ms += performance.now() - t0;
      run.cpuS += sessionCpuSeconds(run.proc.pid) - cpu0;
    }
  }
  for (const run of runs) {
    lines.push(`${run.label.padEnd(44)} 100 × 1 MiB back to back: ${run.ms.toFixed(0)} ms, TTFB median ${median(run.ttfb).toFixed(1)} ms, ` +
      `proxy CPU ${(run.cpuS * 1e4).toFixed(0)} µs/request`);
  }
  // What every looked-up miss pays before it goes to the backend: one GET of the entry's object that finds nothing.
  const asks: number[] = [];
  for (let i = 0; i < 25; i++) {
    const t0 = performance.now();
    await lookup().catch(() => undefined);
    asks.push(performance.now() - t0);
  }
  lines.push(`store lookup of a missing key (GET → 404), median of 25: ${median(asks).toFixed(1)} ms`);
  const ratio = (i: number, j: number): string => (runs[i]!.ms / runs[j]!.ms).toFixed(3);
  const teeRatio = runs[2]!.ms / runs[0]!.ms;
  lines.push(`  back to back: tee/off ${teeRatio.toFixed(3)}× (≤ 1.05×: ${verdict(teeRatio <= 1.05)}); lookup only/off ${ratio(1, 0)}×, tee/lookup only ${ratio(2, 1)}×` +
    (indexed === null ? '' : `; tee with the index/off ${ratio(3, 0)}×`));
  lines.push(...await isolatedMisses(runs.filter((r) => r.isolated)));
  return lines;
}

interface TeeRun { label: string; port: number; proc: Proc; headers: Record<string, string>; isolated: boolean; ms: number; cpuS: number; ttfb: number[] }

/** `isolated`: also measured in isolated misses. */
function teeRun(label: string, port: number, proc: Proc, headers: Record<string, string> = {}, isolated = true): TeeRun {
  return { label, port, proc, headers, isolated, ms: 0, cpuS: 0, ttfb: [] };
}

/** Isolated misses: 40 per run, interleaved, each once every proxy's store calls have all ended. */
async function isolatedMisses(runs: TeeRun[]): Promise<string[]> {
  const totals = runs.map(() => [] as number[]);
  const ttfbs = runs.map(() => [] as number[]);
  for (let i = 0; i < 40; i++) {
    for (const [k, run] of runs.entries()) {
      // Isolated from every proxy's store work, not only its own: another proxy's fill running
      // meanwhile takes the store's (and the machine's) CPU from this miss.
      for (const other of runs) await storeIdle(other.port);
      // The store goes on working after it answered (Swift's container updates, its logging): that is
      // the last fill's cost, not this miss's. Measured without the pause, a miss the cache answers with
      // no store call at all (request no-store, with the index) took 1.29-1.57x the cache-off time
      // right after a fill, against 1.07-1.15x with 15-80 ms of quiet in a smaller harness.
      await sleep(SETTLE_MS);
      const t = await timedGet(`http://127.0.0.1:${run.port}/1m?alone=${Date.now()}-${i}`, run.headers);
      totals[k]!.push(t.totalMs);
      ttfbs[k]!.push(t.ttfbMs);
    }
  }
  const lines = runs.map((run, k) => `${run.label.padEnd(44)} isolated miss, median of 40: ${median(totals[k]!).toFixed(2)} ms whole, TTFB ${median(ttfbs[k]!).toFixed(2)} ms`);
  for (let k = 1; k < runs.length; k++) {
    const r = median(totals[k]!) / median(totals[0]!);
    const target = runs[k]!.headers['cache-control'] === undefined ? ` (≤ 1.05×: ${verdict(r <= 1.05)})` : ' (no tee: the cache\'s own share)';
    lines.push(`  isolated: ${runs[k]!.label}/off ${r.toFixed(3)}×${target}`);
  }
  return lines;
}

/** Waits (10 s at most) until the proxy on `port` has no store call running (a cache-off proxy has none). */
async function storeIdle(port: number): Promise<void> {
  for (const until = Date.now() + 10_000; Date.now() < until; await sleep(5)) {
    const text = await new Promise<string>((resolve, reject) => {
      http.get(`http://127.0.0.1:${port}/.prometheus/metrics`, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => { body += d; }).once('end', () => resolve(body));
      }).once('error', reject);
    });
    const running = /^outrigger_cache_store_calls_in_flight (\d+)/m.exec(text)?.[1];
    if (running === undefined || running === '0') return;
  }
}

/** 4. RSS during 8 concurrent 256 MiB fills (distinct URLs), sampled every 100 ms. */
async function fillsRssRow(base: number, storeOnly: Proc): Promise<string[]> {
  const lines: string[] = [];
  log('4/4 RSS during 8 concurrent 256 MiB fills');
  const before = sessionRssBytes(storeOnly.pid);
  let peak = before;
  const sampler = setInterval(() => { peak = Math.max(peak, sessionRssBytes(storeOnly.pid)); }, 100);
  const t0 = performance.now();
  const fills = await Promise.all(Array.from({ length: 8 }, (_, i) => timedGet(`http://127.0.0.1:${base + 3}/256m?fill=${i}`, {}, FILL_MIBPS)));
  const whole = fills.filter((f) => f.bytes === 256 * MiB).length;
  // A fill completes after its client's last byte (last part, Complete, then metadata for a multipart body): wait for them, 30 s at most.
  const stored = new Set<number>();
  for (const until = Date.now() + 30_000; stored.size < 8 && Date.now() < until; await sleep(200)) {
    for (let i = 0; i < 8; i++) {
      if (stored.has(i)) continue;
      const probe = await timedGet(`http://127.0.0.1:${base + 3}/256m?fill=${i}`, { 'cache-control': 'only-if-cached', range: 'bytes=0-0' });
      if (probe.status !== 504) stored.add(i);
    }
  }
  clearInterval(sampler);
  lines.push(`8 concurrent 256 MiB fills at ${FILL_MIBPS} MiB/s each (${whole}/8 whole to the client, ${stored.size}/8 stored, ${((performance.now() - t0) / 1000).toFixed(1)} s): ` +
    `RSS ${(before / MiB).toFixed(0)} MiB before, peak ${(peak / MiB).toFixed(0)} MiB (2 GiB went through; ` +
    `the bound: 8 × 32 MiB a fill holds = 256 MiB above idle, ${((peak - before) / MiB).toFixed(0)} MiB seen)`);
  return lines;
}

main().catch((err) => { console.error(err); process.exitCode = 1; })
  .finally(async () => { for (const p of procs.reverse()) await stop(p); });
