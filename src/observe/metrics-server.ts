import http from 'node:http';
import type { ListenAddress } from '../config/types.js';
import { METRICS_CONTENT_TYPE, METRICS_PATH } from './metrics.js';
import { listenSide, type SideListener } from './side-listener.js';

/** Anything that can produce the exposition text (one process's Metrics, or the workers' sum). */
export interface MetricsSource {
  text(): Promise<string>;
}

export type MetricsServer = SideListener;

/**
 * The optional `--metrics-address` listener: a small node:http server of its own, so scrapes can
 * be kept off the data port (and away from clients). It answers GET/HEAD of the metrics path
 * (and of `/metrics`, the usual default of Prometheus) with everything read fresh.
 */
export function serveMetrics(address: ListenAddress, metrics: MetricsSource): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== METRICS_PATH && path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: metrics are at ${METRICS_PATH}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    metrics.text().then(
      (body) => res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) }).end(body),
      (err: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
    );
  });
  return listenSide(server, address);
}
