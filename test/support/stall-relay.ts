import net from 'node:net';
import { listenLoopback, type Cleanup } from './cleanup.js';

/**
 * A TCP relay in front of a server that can go silent the way a hung store does: connections stay
 * open and accept bytes, and nothing comes back. `stall(match)` silences every connection whose next
 * request line matches (all of them without `match`), and every connection opened after it.
 */
export interface StallRelay {
  readonly port: number;
  stall(match?: (requestLine: string) => boolean): void;
}

export async function stallRelay(cleanup: Cleanup, target: { host: string; port: number }): Promise<StallRelay> {
  let matching: ((line: string) => boolean) | null = null;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    let silent = false;
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.on('data', (chunk: Buffer) => {
      // A request head is written at once by the store clients: its first line is at the chunk's start.
      if (!silent && matching !== null && matching(chunk.toString('latin1', 0, chunk.indexOf('\r\n')))) silent = true;
      if (!silent) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => { if (!silent) client.write(chunk); });
    client.once('end', () => upstream.end());
    upstream.once('end', () => { if (!silent) client.end(); });
  });
  const port = await listenLoopback(server);
  cleanup.add(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port, stall: (match = () => true) => { matching = match; } };
}
