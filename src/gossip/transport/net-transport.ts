/**
 * memberlist's NetTransport on node:dgram and node:net: one port for UDP
 * packets and TCP streams. A stream carries one request and at most one reply;
 * inbound streams are parsed incrementally, bounded in size, time and number.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, isIPv6, type Server, type Socket } from 'node:net';
import { MAX_STREAM_BYTES } from '../codec/stream.js';
import type { StreamMessage } from '../codec/stream.js';
import type { Address, InboundHandler, Logger, ReplyParser, Transport } from '../protocol/types.js';

/** memberlist maxPushPullRequests. */
const MAX_INBOUND_STREAMS = 128;
const UDP_RECV_BUFFER = 2 << 20;

export interface NetTransportOptions {
  readonly host: string;
  /** 0 = let the kernel pick (TCP first, then UDP on the same number). */
  readonly port: number;
  readonly tcpTimeoutMs: number;
  readonly log: Logger;
}

export class NetTransport implements Transport {
  private udp!: UdpSocket;
  private tcp!: Server;
  private handler: InboundHandler | null = null;
  private inbound = 0;
  private closed = false;
  private readonly sockets = new Set<Socket>();
  port = 0;

  private constructor(private readonly opts: NetTransportOptions) {}

  static async listen(opts: NetTransportOptions): Promise<NetTransport> {
    const t = new NetTransport(opts);
    for (let attempt = 0; ; attempt++) {
      try {
        await t.bind();
        return t;
      } catch (err) {
        // A kernel-picked TCP port may be taken on UDP: try another one.
        t.close();
        if (opts.port !== 0 || attempt >= 5) throw err;
      }
    }
  }

  private async bind(): Promise<void> {
    const host = this.opts.host === '' ? '0.0.0.0' : this.opts.host;
    this.tcp = createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      this.tcp.once('error', reject);
      this.tcp.listen(this.opts.port, host, () => { this.tcp.off('error', reject); resolve(); });
    });
    this.port = (this.tcp.address() as { port: number }).port;
    this.udp = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', recvBufferSize: UDP_RECV_BUFFER });
    await new Promise<void>((resolve, reject) => {
      this.udp.once('error', reject);
      this.udp.bind(this.port, host, () => { this.udp.off('error', reject); resolve(); });
    });
    this.udp.on('error', (err) => this.opts.log('warn', `gossip: UDP error: ${err.message}`));
    this.udp.on('message', (buf, rinfo) => this.handler?.handlePacket(new Uint8Array(buf.buffer, buf.byteOffset, buf.length), { addr: rinfo.address, port: rinfo.port }));
  }

  setHandler(handler: InboundHandler): void { this.handler = handler; }

  sendPacket(to: Address, buf: Uint8Array): void {
    if (this.closed) return;
    this.udp.send(buf, to.port, to.addr, (err) => {
      if (err) this.opts.log('debug', `gossip: UDP send to ${to.addr}:${to.port} failed: ${err.message}`);
    });
  }

  request(to: Address, data: Uint8Array, parseReply: ReplyParser | null, timeoutMs: number): Promise<StreamMessage | null> {
    if (this.closed) return Promise.reject(new Error('transport closed'));
    return new Promise((resolve, reject) => {
      const s = connect({ host: to.addr, port: to.port });
      let buf = Buffer.alloc(0);
      const finish = (err: Error | null, msg: StreamMessage | null = null): void => {
        clearTimeout(timer);
        s.destroy();
        if (err) reject(err); else resolve(msg);
      };
      const timer = setTimeout(() => finish(new Error(`i/o timeout after ${timeoutMs} ms`)), timeoutMs);
      s.on('error', (err) => finish(err));
      s.on('connect', () => {
        s.write(data, () => { if (parseReply === null) { s.end(); finish(null); } });
      });
      s.on('data', (chunk: Buffer) => {
        if (parseReply === null) return;
        buf = Buffer.concat([buf, chunk]);
        if (buf.length > MAX_STREAM_BYTES + 64) return finish(new Error('reply too large'));
        try {
          const msg = parseReply(buf);
          if (msg !== null) finish(null, msg);
        } catch (err) {
          finish(err as Error);
        }
      });
      s.on('end', () => finish(new Error('connection closed before a reply')));
    });
  }

  private accept(s: Socket): void {
    if (this.inbound >= MAX_INBOUND_STREAMS || this.handler === null) { s.destroy(); return; }
    this.inbound++;
    this.sockets.add(s);
    const from = { addr: s.remoteAddress ?? '', port: s.remotePort ?? 0 };
    let buf = Buffer.alloc(0);
    let done = false;
    s.setTimeout(this.opts.tcpTimeoutMs, () => s.destroy());
    s.on('close', () => { this.inbound--; this.sockets.delete(s); });
    s.on('error', () => {});
    s.on('data', (chunk: Buffer) => {
      if (done) return;
      buf = Buffer.concat([buf, chunk]);
      let msg: StreamMessage | null;
      try {
        if (buf.length > MAX_STREAM_BYTES + 64) throw new Error('stream too large');
        msg = this.handler!.parseStream(buf);
      } catch (err) {
        done = true;
        this.opts.log('debug', `gossip: refused a stream from ${from.addr}:${from.port}: ${(err as Error).message}`);
        s.destroy();
        return;
      }
      if (msg === null) return;
      done = true;
      this.handler!.handleStream(msg, from).then(
        (reply) => { if (reply === null) s.end(); else s.end(reply); },
        () => s.destroy(),
      );
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try { this.udp?.close(); } catch { /* never bound */ }
    if (this.tcp?.listening) this.tcp.close();
    for (const s of this.sockets) s.destroy();
  }
}

/** The real clock, with timers that do not keep the process alive on their own. */
export const realClock = {
  now: (): number => performance.now(),
  setTimer(ms: number, fn: () => void): { cancel(): void } {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
