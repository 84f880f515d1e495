/**
 * stale-while-revalidate (RFC 5861 §3): the stale entry is served at once and the URL is asked
 * for again in the background. The background request goes through this sidecar's own listener
 * with `Cache-Control: max-age=0`, so it takes the ordinary path (pick, retries, revalidation,
 * fill) instead of a second one written here. One refresh per URL and variant at a time.
 */
import http from 'node:http';
import https from 'node:https';
import type { RequestView } from '../proxy/pipeline.js';

/** Request fields always copied to the refresh: common content negotiation, and the client's credentials. */
const COPIED = ['authorization', 'accept', 'accept-encoding', 'accept-language'];
/** Fields a Vary may name that describe the connection or the body, not the request: never copied. */
const NEVER = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'upgrade', 'content-length', 'host', 'cache-control']);

/**
 * `vary`: the stored entry's Vary fields. The refresh carries the client's values of them, so it
 * selects (and refreshes) the variant that was served stale, not another one; and one refresh
 * runs per URL and variant.
 */
export function selfRefresher(scheme: 'http' | 'https', host: string, port: number): (req: RequestView, vary: readonly string[]) => void {
  const running = new Set<string>();
  const connectHost = host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return (req, vary) => {
    const headers: Record<string, string> = {};
    for (const name of new Set([...COPIED, ...vary])) {
      const value = req.header(name);
      if (value !== undefined && !NEVER.has(name)) headers[name] = value;
    }
    const key = [req.authority, req.target, ...vary.map((name) => headers[name] ?? '')].join('\n');
    if (running.has(key)) return;
    running.add(key);
    Object.assign(headers, { host: req.authority, 'cache-control': 'max-age=0' });
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
