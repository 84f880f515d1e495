/**
 * MOCK, the only one allowed in this project: no Docker engine can run on these machines, so the
 * Engine API is this small stand-in HTTP server, on a unix socket or on 127.0.0.1 (optionally
 * HTTPS with client certificates, as dockerd with --tlsverify). It answers GET /containers/json
 * with `containers` (edited by the test) and streams GET /events the way dockerd does: a 200 with
 * its headers flushed at once, then one JSON event per line in a chunked body that never ends.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Cleanup } from './cleanup.js';

export interface FakeContainer {
  Id: string;
  Image: string;
  Created: number;
  Labels: Record<string, string>;
  Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
}

export interface StandInEngine {
  containers: FakeContainer[];
  /** GET /containers/json answers 500. */
  failing: boolean;
  /** GET /containers/json requests answered. */
  lists: number;
  /** The query of every GET /events, in order. */
  readonly eventQueries: URLSearchParams[];
  /** Event streams open now. */
  readonly streams: Set<http.ServerResponse>;
  /** The TCP port (0 on a unix socket). */
  port: number;
  /** Sends a line to every open event stream: an object as the engine's JSON event, a string as it is. */
  emit(event: object | string): void;
  /** Cuts every open event stream mid-body, as an engine that is restarted. */
  cut(): void;
}

/** The event dockerd streams for `action` on container `id` (API 1.41's shape). */
export function containerEvent(action: string, c: FakeContainer): object {
  const time = Math.floor(Date.now() / 1000);
  return {
    status: action, id: c.Id, from: c.Image, Type: 'container', Action: action,
    Actor: { ID: c.Id, Attributes: { image: c.Image, name: `c-${c.Id.slice(0, 6)}` } }, scope: 'local', time, timeNano: time * 1e9,
  };
}

export type EngineListen = { readonly socket: string } | { readonly tcp: true; readonly tls?: https.ServerOptions };

export async function startStandInEngine(cleanup: Cleanup, listen: EngineListen): Promise<StandInEngine> {
  const engine: StandInEngine = {
    containers: [], failing: false, lists: 0, eventQueries: [], streams: new Set(), port: 0,
    emit(event) {
      const line = `${typeof event === 'string' ? event : JSON.stringify(event)}\n`;
      for (const res of engine.streams) res.write(line);
    },
    cut() {
      for (const res of engine.streams) res.socket?.destroy();
    },
  };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://engine');
    if (req.method === 'GET' && url.pathname === '/containers/json') {
      engine.lists++;
      if (engine.failing) return void res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"message":"engine trouble"}');
      return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(engine.containers));
    }
    if (req.method === 'GET' && url.pathname === '/events') {
      engine.eventQueries.push(url.searchParams);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      engine.streams.add(res);
      res.once('close', () => engine.streams.delete(res));
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"page not found"}');
  };
  const server = 'socket' in listen ? http.createServer(handler)
    : listen.tls !== undefined ? https.createServer(listen.tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => {
    if ('socket' in listen) server.listen(listen.socket, resolve);
    else server.listen(0, '127.0.0.1', resolve);
  });
  if (!('socket' in listen)) engine.port = (server.address() as AddressInfo).port;
  cleanup.add(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return engine;
}
