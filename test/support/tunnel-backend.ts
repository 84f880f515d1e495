import net from 'node:net';
import { listenLoopback, type Cleanup } from './cleanup.js';

/** Answers a request (by its request line) on the backend's socket and returns true, or leaves it to the tunnel. */
export type RouteFn = (line: string, socket: net.Socket) => boolean;

/**
 * A raw backend that answers GET /health with 200, lets `route` answer other requests, and turns
 * every other request into a 101 followed by an echo tunnel (bytes sent behind the head included).
 * Stopped, with every connection cut, by `cleanup`. Resolves with its base URL.
 */
export async function echoTunnelBackend(cleanup: Cleanup, route: RouteFn = () => false): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHead);
      const line = head.toString('latin1', 0, head.indexOf('\r\n'));
      if (line.startsWith('GET /health ')) return void socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
      if (route(line, socket)) return;
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
      socket.write(head.subarray(end + 4));
      socket.pipe(socket);
    };
    socket.on('data', onHead);
  });
  const port = await listenLoopback(server);
  cleanup.add(() => new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(resolve);
  }));
  return `http://127.0.0.1:${port}`;
}
