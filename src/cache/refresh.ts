/**
 * stale-while-revalidate (RFC 5861 §3): the stale entry is served at once and the URL is asked
 * for again in the background. The background request goes through this sidecar's own listener
 * with `Cache-Control: max-age=0`, so it takes the ordinary path (pick, retries, revalidation,
 * fill) instead of a second one written here. Which stale hits ask for one at all (one per stored
 * version at a time) is refreshes.ts's choice.
 */
import http from 'node:http';
import https from 'node:https';
import type { Refresh } from './refreshes.js';

/** Request fields always copied to the refresh: common content negotiation, and the client's credentials. */
const COPIED = ['authorization', 'accept', 'accept-encoding', 'accept-language'];
/** Fields a Vary may name that describe the connection or the body, not the request: never copied. */
const NEVER = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'upgrade', 'content-length', 'host', 'cache-control']);

/**
 * `vary`: the stored entry's Vary fields. The refresh carries the client's values of them, so it
 * selects (and refreshes) the variant that was served stale, not another one. What it returns
 * settles when the request is over (answered in full, or failed).
 */
export function selfRefresher(scheme: 'http' | 'https', host: string, port: number): Refresh {
  const connectHost = host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return (req, vary) => new Promise((settled) => {
    const headers: Record<string, string> = {};
    for (const name of new Set([...COPIED, ...vary])) {
      const value = req.header(name);
      if (value !== undefined && !NEVER.has(name)) headers[name] = value;
    }
    const over = (): void => settled();
    Object.assign(headers, { host: req.authority, 'cache-control': 'max-age=0' });
    const options = { host: connectHost, port, method: 'GET', path: req.target, headers, timeout: 60_000, rejectUnauthorized: false };
    const request = (scheme === 'https' ? https : http).request(options, (res) => {
      res.resume();
      res.once('close', over);
    });
    request.once('error', over);
    request.once('timeout', () => request.destroy());
    request.end();
  });
}
