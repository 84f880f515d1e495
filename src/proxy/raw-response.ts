import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import type { LocalResponse } from './error-response.js';

/** Serialise a response head for a socket that is outside node:http's control (upgrades, client errors). */
export function responseHead(status: number, message: string | undefined, raw: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${message ?? STATUS_CODES[status] ?? ''}\r\n`;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]!}: ${raw[i + 1]!}\r\n`;
  return head + '\r\n';
}

/** Answer on a raw socket and close it. */
export function replyAndClose(socket: Duplex, r: LocalResponse): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const raw: string[] = [];
  for (const [k, v] of Object.entries(r.headers)) raw.push(k, v);
  raw.push('Content-Length', String(Buffer.byteLength(r.body)), 'Connection', 'close');
  socket.end(responseHead(r.status, undefined, raw) + r.body);
}
