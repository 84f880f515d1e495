import http from 'node:http';
import { listenSide, type SideListener } from '../observe/side-listener.js';
import type { Catalog } from './catalog.js';
import type { CatalogChange } from './state.js';
import { serveDashboard } from './dashboard.js';

export type CatalogApi = SideListener;

export interface ApiOptions {
  /** Drain one of this node's instances; false when it has no instance of that ID. */
  readonly drain: (id: string) => boolean;
  /** This node's gossip members as GET /v1/members gives them; null without gossip. */
  readonly members?: () => string | null;
  /** This node's sites and backends as GET /v1/backends gives them, for the dashboard. */
  readonly backends?: () => string;
}

type Json = Record<string, unknown>;

/**
 * Sidecar's HTTP API (sidecarhttp/http_api.go) on its own listener (`--api-address`, Sidecar's
 * port 7777 on loopback by default): the catalog as JSON, a stream of changes, and drain. The
 * stream differs on purpose: Sidecar wrote JSON documents back to back with no delimiter; here
 * each is one line (NDJSON), or one Server-Sent Event when the client asks for text/event-stream.
 * The dashboard (/ui/) is served here too, with this node's members and backends beside the catalog.
 */
export function serveCatalogApi(catalog: Catalog, address: { host: string; port: number }, options: ApiOptions): Promise<CatalogApi> {
  const server = http.createServer((req, res) => route(catalog, options, req, res));
  return listenSide(server, address);
}

function route(catalog: Catalog, options: ApiOptions, req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://api');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  res.setHeader('Access-Control-Allow-Origin', '*');
  const drain = /^\/api\/services\/([^/]+)\/drain$/.exec(path);
  if (drain !== null) {
    if (method !== 'POST') return send(res, 405, { status: 'error', message: 'drain is a POST' }, { Allow: 'POST' });
    const id = decodeURIComponent(drain[1]!);
    if (!options.drain(id)) return send(res, 404, { status: 'error', message: `no local instance with ID ${id}` });
    return send(res, 202, { Message: `instance ${id} set to drain` });
  }
  if (method !== 'GET' && method !== 'HEAD') return send(res, 405, { status: 'error', message: `${method} is not supported here` }, { Allow: 'GET, HEAD' });
  if (path === '/api/services.json') {
    return send(res, 200, { Services: catalog.servicesByName(), ClusterMembers: catalog.clusterMembers(), ClusterName: catalog.clusterName });
  }
  if (path === '/api/state.json') return send(res, 200, catalog.stateDocument() as unknown as Json);
  if (path === '/api/watch') return watch(catalog, url, req, res);
  const side = path === '/v1/members' ? options.members?.() : path === '/v1/backends' ? options.backends?.() : undefined;
  if (typeof side === 'string') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(side);
  if (serveDashboard(path, res)) return;
  const one = /^\/api\/services\/([^/]+)\.json$/.exec(path);
  if (one !== null) {
    const name = decodeURIComponent(one[1]!);
    const instances = catalog.servicesByName()[name];
    if (instances === undefined) return send(res, 404, { status: 'error', message: `no instances of ${name} found` });
    return send(res, 200, { Services: { [name]: instances }, ClusterName: catalog.clusterName });
  }
  send(res, 404, { status: 'error', message: `not found: ${path}` });
}

function send(res: http.ServerResponse, status: number, body: Json, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers }).end(text);
}

/**
 * One document now and one after every change: by default the services by name (Sidecar's
 * default), `?by_service=false` the whole state document.
 */
function watch(catalog: Catalog, url: URL, req: http.IncomingMessage, res: http.ServerResponse): void {
  const sse = /\btext\/event-stream\b/.test(req.headers.accept ?? '');
  const byService = url.searchParams.get('by_service') !== 'false';
  const document = (): unknown => (byService ? catalog.servicesByName() : catalog.stateDocument());
  res.writeHead(200, {
    'Content-Type': sse ? 'text/event-stream' : 'application/x-ndjson',
    'Cache-Control': 'no-cache',
    'X-Accel-Buffering': 'no',
  });
  const write = (): void => {
    const json = JSON.stringify(document());
    res.write(sse ? `data: ${json}\n\n` : `${json}\n`);
  };
  write();
  const stop = catalog.subscribe((_: CatalogChange) => write());
  const end = (): void => { stop(); };
  req.socket.once('close', end);
  res.once('close', end);
}
