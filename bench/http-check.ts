// Plain node:http GETs used before any load: waiting for a server to answer, and checking that
// a target returns the exact payload bytes (length and SHA-256), so a proxy that truncates or
// mangles bodies is caught instead of being measured.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { sleep } from './procs.js';

export interface Fetched {
  status: number;
  length: number;
  sha256: string;
}

/** One GET on a fresh connection, body hashed as it streams (64 MiB never sits in memory). */
export function fetchOnce(addr: string, urlPath: string, timeoutMs: number): Promise<Fetched> {
  const [host, port] = splitAddr(addr);
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      const hash = createHash('sha256');
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        length += chunk.length;
        hash.update(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, length, sha256: hash.digest('hex') }));
      res.on('error', reject);
    });
    // The socket timeout only covers idle gaps; this one bounds the whole transfer.
    const deadline = setTimeout(() => req.destroy(new Error(`GET ${addr}${urlPath}: no answer in ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('timeout', () => req.destroy(new Error(`GET ${addr}${urlPath}: idle for ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Polls until GET addr+path answers 200, or throws after timeoutMs. */
export async function waitFor200(addr: string, urlPath: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < until) {
    try {
      const r = await fetchOnce(addr, urlPath, 1000);
      if (r.status === 200) return;
      last = `status ${r.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${addr}${urlPath} not ready after ${timeoutMs} ms (${last})`);
}

export interface Expected {
  path: string;
  length: number;
  sha256: string;
}

/** Checks every payload through ADDR; returns a short "path=length ok" summary or throws. */
export async function verifyPayloads(addr: string, expected: Expected[]): Promise<string> {
  const seen: string[] = [];
  for (const e of expected) {
    const got = await fetchOnce(addr, e.path, 30_000);
    if (got.status !== 200 || got.length !== e.length || got.sha256 !== e.sha256) {
      throw new Error(
        `${addr}${e.path}: got status ${got.status}, ${got.length} bytes` +
          `${got.sha256 === e.sha256 ? '' : ' (content differs)'}; expected 200, ${e.length} bytes`,
      );
    }
    seen.push(`${e.path}=${got.length}`);
  }
  return seen.join(' ');
}

export function splitAddr(addr: string): [string, number] {
  const i = addr.lastIndexOf(':');
  return [addr.slice(0, i), Number(addr.slice(i + 1))];
}
