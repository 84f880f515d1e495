// The shared cache's benchmarks, apart from the main matrix (they need a Swift S3 store):
//   node dist/bench/cache.js          (after npm run build; nginx-light, wrk and Swift installed)
// 1. store-tier hit vs the store's own GET: time to first byte and throughput of a 64 MiB object
// 2. memory-tier hit of a 100 B object vs proxying it to nginx without a cache (wrk req/s)
// 3. a miss with the tee vs the same requests with the cache off (1 MiB bodies, distinct URLs)
// 4. peak RSS of Outrigger during 8 concurrent 256 MiB fills
// Every process is stopped by PID at the end; every load is bounded in time or count.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readSettings } from './config.js';
import { startBackends } from './backends.js';
import { initProcs, sleep, start, stop, type Proc } from './procs.js';
import { pickLoadgen, prepareLoadgen, runLoad } from './load.js';
import { sharedSwift } from '../test/support/swift.js';

const MiB = 1 << 20;
const s = readSettings();
initProcs(s.state);
const procs: Proc[] = [];

interface Timed { ttfbMs: number; totalMs: number; bytes: number }

/** One GET, timed from the request to the first body byte and to the end. */
function timedGet(url: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let ttfbMs = -1;
    let bytes = 0;
    http.get(url, { agent: false }, (res) => {
      res.on('data', (d: Buffer) => { if (ttfbMs < 0) ttfbMs = performance.now() - t0; bytes += d.length; });
      res.once('end', () => resolve({ ttfbMs, totalMs: performance.now() - t0, bytes }));
      res.once('error', reject);
    }).once('error', reject);
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Starts Outrigger on a fixed port with `args`; resolves once it answers. */
async function outrigger(name: string, port: number, args: string[]): Promise<Proc> {
  const proc = start(name, process.execPath, [path.join(s.repo, 'dist/src/main.js'), '--address', `127.0.0.1:${port}`,
    '--health-path', s.healthPath, ...args, `http://127.0.0.1:${s.backendPorts[0]}`], { cpus: s.pin ? s.proxyCpus : null });
  procs.push(proc);
  for (let i = 0; i < 300; i++) {
    if (fs.readFileSync(proc.log, 'utf8').includes(args.includes('--cache-endpoint') ? 'is up' : 'listening on')) {
      if (!args.includes('--cache-endpoint') || /cache store .* is up/.test(fs.readFileSync(proc.log, 'utf8'))) return proc;
    }
    await sleep(100);
  }
  throw new Error(`${name} did not start: ${fs.readFileSync(proc.log, 'utf8')}`);
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) * 1024;
}

async function main(): Promise<void> {
  const swift = await sharedSwift();
  const bucket = `bench-${Date.now()}`;
  const s3 = new S3Client({ endpoint: swift.endpoint, region: swift.region, forcePathStyle: true,
    credentials: { accessKeyId: swift.accessKey, secretAccessKey: swift.secretKey } });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const backends = await startBackends(s);
  procs.push(backends.proc);
  const www = path.join(s.state, 'backends', 'www');
  // Old files: nginx's Last-Modified then gives a heuristic lifetime of days (no Cache-Control needed).
  fs.writeFileSync(path.join(www, '256m'), randomBytes(1));
  fs.truncateSync(path.join(www, '256m'), 256 * MiB);
  fs.chmodSync(path.join(www, '256m'), 0o644);
  const old = new Date(Date.now() - 30 * 86_400_000);
  for (const f of ['small', '1m', '64m', '256m']) fs.utimesSync(path.join(www, f), old, old);
  const cache = ['--cache-endpoint', swift.endpoint, '--cache-access-key', swift.accessKey, '--cache-secret-key', swift.secretKey,
    '--cache-bucket', bucket, '--cache-min-size', '0'];
  const base = s.proxyPortBase;
  const plain = await outrigger('outrigger-nocache', base + 1, []);
  const withMemory = await outrigger('outrigger-cache', base + 2, cache);
  const storeOnly = await outrigger('outrigger-cache-store', base + 3, [...cache, '--cache-memory', '0']);
  const lines: string[] = [];

  // 1. store-tier hit vs store GET (64 MiB, 5 each, medians).
  const body = fs.readFileSync(path.join(www, '64m'));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'direct/64m', Body: body }));
  await timedGet(`http://127.0.0.1:${base + 3}/64m`);
  await sleep(5000); // the fill completes in the background
  const direct: Timed[] = [];
  const viaCache: Timed[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'direct/64m' }));
    let ttfbMs = -1;
    let bytes = 0;
    for await (const chunk of out.Body as AsyncIterable<Buffer>) { if (ttfbMs < 0) ttfbMs = performance.now() - t0; bytes += chunk.length; }
    direct.push({ ttfbMs, totalMs: performance.now() - t0, bytes });
    viaCache.push(await timedGet(`http://127.0.0.1:${base + 3}/64m`));
  }
  const mibps = (t: Timed[]): number => median(t.map((x) => x.bytes / MiB / (x.totalMs / 1000)));
  lines.push(`store GET 64 MiB: TTFB ${median(direct.map((x) => x.ttfbMs)).toFixed(1)} ms, ${mibps(direct).toFixed(0)} MiB/s`);
  lines.push(`store-tier hit 64 MiB: TTFB ${median(viaCache.map((x) => x.ttfbMs)).toFixed(1)} ms, ${mibps(viaCache).toFixed(0)} MiB/s`);

  // 2. memory-tier hit vs no cache (wrk, 100 B).
  const gen = pickLoadgen(s);
  await prepareLoadgen(gen);
  await timedGet(`http://127.0.0.1:${base + 2}/small`);
  await sleep(2000);
  for (const [label, port] of [['no cache, proxied to nginx', base + 1], ['memory-tier hit', base + 2]] as const) {
    const r = await runLoad(s, gen, { addr: `127.0.0.1:${port}`, path: '/small', conns: s.smallConns, seconds: s.durationS, bulk: false });
    lines.push(`${label} 100 B: ${(r.requests / r.seconds).toFixed(0)} req/s`);
  }

  // 3. tee overhead: 100 misses of 1 MiB (distinct URLs) with the cache vs without.
  for (const [label, port] of [['cache off', base + 1], ['miss + tee', base + 2]] as const) {
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) await timedGet(`http://127.0.0.1:${port}/1m?tee=${Date.now()}-${i}`);
    lines.push(`${label}, 100 × 1 MiB sequential: ${(performance.now() - t0).toFixed(0)} ms`);
  }

  // 4. RSS during 8 concurrent 256 MiB fills (distinct URLs).
  let peak = rssBytes(storeOnly.pid);
  const sampler = setInterval(() => { peak = Math.max(peak, rssBytes(storeOnly.pid)); }, 100);
  const before = rssBytes(storeOnly.pid);
  await Promise.all(Array.from({ length: 8 }, (_, i) => timedGet(`http://127.0.0.1:${base + 3}/256m?fill=${i}`)));
  clearInterval(sampler);
  lines.push(`8 concurrent 256 MiB fills: RSS ${(before / MiB).toFixed(0)} MiB before, peak ${(peak / MiB).toFixed(0)} MiB`);
  console.log(lines.join('\n'));
  s3.destroy();
  void plain;
  void withMemory;
}

main().catch((err) => { console.error(err); process.exitCode = 1; })
  .finally(async () => { for (const p of procs.reverse()) await stop(p); });
