/**
 * stale-while-revalidate (RFC 5861 §3): the stale entry is served at once and the URL is asked
 * for again in the background. The background request goes through this sidecar's own listener
 * with `Cache-Control: max-age=0`, so it takes the ordinary path (pick, retries, revalidation,
 * fill) instead of a second one written here. One refresh per URL at a time.
 */
import http from 'node:http';
import https from 'node:https';
import type { RequestView } from '../proxy/pipeline.js';

/** Request fields copied to the refresh: those a response may Vary on, and the client's credentials. */
const COPIED = ['authorization', 'accept', 'accept-encoding', 'accept-language'];

export function selfRefresher(scheme: 'http' | 'https', host: string, port: number): (req: RequestView) => void {
  const running = new Set<string>();
  const connectHost = host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return (req) => {
    const key = `${req.authority} ${req.target}`;
    if (running.has(key)) return;
    running.add(key);
    const headers: Record<string, string> = { host: req.authority, 'cache-control': 'max-age=0' };
    for (const name of COPIED) {
      const value = req.header(name);
      if (value !== undefined) headers[name] = value;
    }
    const options = { host: connectHost, port, method: 'GET', path: req.target, headers, timeout: 60_000, rejectUnauthorized: false };
    const request = (scheme === 'https' ? https : http).request(options, (res) => {
      res.resume();
      res.once('close', () => running.delete(key));
    });
    request.once('error', () => running.delete(key));
    request.once('timeout', () => request.destroy());
    request.end();
  };
}
