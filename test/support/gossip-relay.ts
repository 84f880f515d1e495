/**
 * A stand-in address for a gossip member, on 127.0.0.1: UDP datagrams and TCP connections to
 * `port` are forwarded to the member's real gossip port once `forwardTo` names it. A member
 * started with `--gossip-advertise 127.0.0.1:<port>` is then reachable by the others only
 * through here, and closing the relay cuts it off.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';

export class GossipRelay {
  private target = 0;
  private readonly sockets = new Set<Socket>();
  /** Datagrams forwarded so far. */
  datagrams = 0;

  private constructor(private readonly udp: UdpSocket, private readonly tcp: Server, readonly port: number) {
    udp.on('message', (buf) => {
      if (this.target === 0) return;
      this.datagrams++;
      udp.send(buf, this.target, '127.0.0.1');
    });
    tcp.on('connection', (down) => this.splice(down));
  }

  /** UDP and TCP on one kernel-picked port, as a gossip member has (retried if TCP's is taken). */
  static async open(): Promise<GossipRelay> {
    for (let attempt = 0; ; attempt++) {
      const udp = createSocket('udp4');
      await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
      const port = udp.address().port;
      const tcp = createServer();
      try {
        await new Promise<void>((resolve, reject) => { tcp.once('error', reject); tcp.listen(port, '127.0.0.1', () => resolve()); });
        return new GossipRelay(udp, tcp, port);
      } catch (err) {
        udp.close();
        if (attempt >= 20) throw err;
      }
    }
  }

  forwardTo(port: number): void { this.target = port; }

  private splice(down: Socket): void {
    if (this.target === 0) { down.destroy(); return; }
    const up = connect(this.target, '127.0.0.1');
    for (const s of [down, up]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => { down.destroy(); up.destroy(); });
    }
    down.pipe(up);
    up.pipe(down);
  }

  private closed = false;

  /** Stop forwarding and free the port; a second call does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.target = 0;
    for (const s of this.sockets) s.destroy();
    await Promise.all([new Promise<void>((r) => this.udp.close(() => r())), new Promise<void>((r) => this.tcp.close(() => r()))]);
  }
}
