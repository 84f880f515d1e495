// HTTP/2 load: h2load (Debian's nghttp2-client) over TLS with ALPN h2, against proxies that
// terminate h2 and talk HTTP/1.1 to the same nginx backends. h2load reports a mean latency,
// not percentiles, so the h2 table shows req/s, MB/s and mean latency only.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import type { Settings } from './config.js';
import type { Expected } from './http-check.js';
import { run } from './procs.js';

export interface H2Result {
  requests: number;
  bytes: number;
  seconds: number;
  meanMs: number;
  /** Requests h2load counted as failed, errored or timed out, plus non-2xx answers. */
  errors: number;
}

export interface H2Spec {
  addr: string;
  path: string;
  clients: number;
  streams: number;
  seconds: number;
  warmupSeconds: number;
}

export function haveH2load(): boolean {
  try {
    execFileSync('h2load', ['--version'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed P-256 certificate for 127.0.0.1 (made once per state dir): [cert, key, cert+key]. */
export function benchCertificate(state: string): { cert: string; key: string; combined: string } {
  const dir = path.join(state, 'tls');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const combined = path.join(dir, 'combined.pem');
  if (!fs.existsSync(combined)) {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '7',
      '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore', timeout: 20_000 });
    fs.writeFileSync(combined, fs.readFileSync(cert, 'utf8') + fs.readFileSync(key, 'utf8'));
  }
  return { cert, key, combined };
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };

/** Parses h2load's summary (nghttp2 1.52). Throws with the output when a line is missing. */
export function parseH2load(out: string): H2Result {
  const need = (re: RegExp): RegExpExecArray => {
    const m = re.exec(out);
    if (m === null) throw new Error(`h2load output without ${re}:\n${out}`);
    return m;
  };
  const finished = need(/finished in ([\d.]+)(us|ms|s),/);
  const reqs = need(/requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/);
  const codes = need(/status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/);
  const traffic = need(/traffic: [\d.]+\w* \((\d+)\) total/);
  const mean = need(/time for request:\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)/);
  const n = (s: string | undefined): number => Number(s ?? 0);
  return {
    requests: n(reqs[1]),
    bytes: n(traffic[1]),
    seconds: n(finished[1]) * (UNIT_MS[finished[2] ?? 's'] ?? 1000) / 1000,
    meanMs: n(mean[1]) * (UNIT_MS[mean[2] ?? 'ms'] ?? 1),
    errors: n(reqs[2]) + n(reqs[3]) + n(reqs[4]) + n(codes[2]) + n(codes[3]) + n(codes[4]),
  };
}

/** One h2load run: warm-up, then `seconds` measured (h2load's own -D and --warm-up-time). */
export async function runH2(s: Settings, spec: H2Spec): Promise<H2Result> {
  const url = `https://${spec.addr}${spec.path}`;
  const r = await run('h2load', 'h2load', [
    '-t', '1', '-c', String(spec.clients), '-m', String(spec.streams),
    '-D', `${spec.seconds}`, '--warm-up-time', `${spec.warmupSeconds}`, url,
  ], s.pin ? s.loadCpus : null, (spec.seconds + spec.warmupSeconds + 30) * 1000);
  if (r.code !== 0) throw new Error(`h2load ${url} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  return parseH2load(r.stdout);
}

/** GET every payload over HTTP/2 (TLS, certificate not verified) and compare length and SHA-256. */
export async function verifyPayloadsH2(addr: string, expected: readonly Expected[]): Promise<string> {
  const session = http2.connect(`https://${addr}`, { rejectUnauthorized: false });
  try {
    for (const e of expected) {
      const got = await new Promise<{ status: number; length: number; sha256: string }>((resolve, reject) => {
        const req = session.request({ ':path': e.path });
        const hash = createHash('sha256');
        let status = 0;
        let length = 0;
        req.on('response', (h) => { status = Number(h[':status']); });
        req.on('data', (c: Buffer) => { length += c.length; hash.update(c); });
        req.on('end', () => resolve({ status, length, sha256: hash.digest('hex') }));
        req.on('error', reject);
        req.setTimeout(60_000, () => req.close(http2.constants.NGHTTP2_CANCEL));
      });
      if (got.status !== 200 || got.length !== e.length || got.sha256 !== e.sha256) {
        throw new Error(`h2 ${e.path}: status ${got.status}, ${got.length} bytes, sha ${got.sha256.slice(0, 12)} (want ${e.length} bytes, ${e.sha256.slice(0, 12)})`);
      }
    }
  } finally {
    session.close();
  }
  return expected.map((e) => e.path).join(' ');
}

/** Polls until an HTTP/2 GET of urlPath over TLS answers 200, or throws after timeoutMs. */
export async function waitForH2(addr: string, urlPath: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < until) {
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const session = http2.connect(`https://${addr}`, { rejectUnauthorized: false });
        session.on('error', reject);
        const req = session.request({ ':path': urlPath });
        req.on('response', (h) => { resolve(Number(h[':status'])); session.close(); });
        req.on('error', reject);
        req.setTimeout(1000, () => { session.destroy(); reject(new Error('no answer in 1 s')); });
        req.end();
      });
      if (status === 200) return;
      last = `status ${status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`h2 ${addr}${urlPath} not ready after ${timeoutMs} ms (${last})`);
}
