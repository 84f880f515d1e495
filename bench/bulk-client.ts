// Load generator for big bodies when wrk is missing. autocannon parses every body byte in
// JavaScript and tops out near 40 MB/s here, so it cannot measure 1 MiB / 64 MiB transfers;
// node:http's client hands the body over in native-parsed chunks and reaches GB/s.
//
//   node dist/bench/bulk-client.js URL CONNECTIONS SECONDS
//
// Each connection repeats GET URL until SECONDS have passed (the request in flight then is
// finished and counted: bounded by the 10 s socket timeout), then prints one JSON line in the
// shape of bench/load.ts's LoadResult.
import http from 'node:http';

const [url = '', connsArg = '1', secondsArg = '1'] = process.argv.slice(2);
const conns = Number(connsArg);
const deadline = Date.now() + Number(secondsArg) * 1000;
const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
const latencies: number[] = [];
let bytes = 0;
let socketErrors = 0;
let non2xx = 0;

function once(): Promise<void> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get(url, { agent, timeout: 10_000 }, (res) => {
      if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299) non2xx++;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => {
        latencies.push(performance.now() - t0);
        resolve();
      });
      res.on('error', () => {
        socketErrors++;
        resolve();
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      socketErrors++;
      resolve();
    });
  });
}

async function loop(): Promise<void> {
  while (Date.now() < deadline) await once();
}

const started = performance.now();
await Promise.all(Array.from({ length: conns }, loop));
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
process.stdout.write(`BENCH_RESULT ${JSON.stringify({
  requests: latencies.length, bytes, seconds, p50Ms: pct(50), p99Ms: pct(99), socketErrors, non2xx,
})}\n`);
agent.destroy();
