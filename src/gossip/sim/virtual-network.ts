/**
 * An in-memory network for many members in one process: datagrams and
 * streams between addresses with configurable loss, delay and partitions,
 * timed by a VirtualClock. Streams to a stopped or cut-off member fail after
 * the caller's timeout, as a TCP connect through a black hole would.
 */
import type { StreamMessage } from '../codec/stream.js';
import type { Address, InboundHandler, ReplyParser, Transport } from '../protocol/types.js';
import type { VirtualClock } from './virtual-clock.js';

export interface LinkModel {
  /** Probability that one datagram is lost. */
  loss: number;
  /** One-way delay in ms: base + uniform jitter. */
  delay: number;
  jitter: number;
}

const key = (a: Address): string => `${a.addr}:${a.port}`;

export class VirtualNetwork {
  private readonly handlers = new Map<string, InboundHandler>();
  /** Members on different sides of a partition cannot reach each other; absent = side 0. */
  private readonly side = new Map<string, number>();
  /** Members that stop taking packets in for `stallMs` every `periodMs` (a starved receive path). */
  private readonly stalls = new Map<string, { periodMs: number; stallMs: number; offsetMs: number }>();
  /** Datagrams and their bytes sent (lost ones included), and stream bytes both ways. */
  packets = 0;
  bytes = 0;
  streams = 0;
  streamBytes = 0;

  constructor(private readonly clock: VirtualClock, private readonly random: () => number, public link: LinkModel) {}

  attach(addr: Address, handler: InboundHandler): void { this.handlers.set(key(addr), handler); }
  detach(addr: Address): void { this.handlers.delete(key(addr)); }
  partition(addr: Address, side: number): void { this.side.set(key(addr), side); }
  heal(): void { this.side.clear(); }
  stall(addr: Address, periodMs: number, stallMs: number, offsetMs: number): void { this.stalls.set(key(addr), { periodMs, stallMs, offsetMs }); }

  /** When a packet sent now reaches `dest`: after the link delay, and after any stall of the receiver. */
  private arrival(dest: string): number {
    const at = this.clock.now() + this.delay();
    const s = this.stalls.get(dest);
    if (s === undefined) return at - this.clock.now();
    const phase = (at - s.offsetMs) % s.periodMs;
    return (phase < s.stallMs ? at + (s.stallMs - phase) : at) - this.clock.now();
  }

  private reachable(from: string, to: string): boolean {
    return (this.side.get(from) ?? 0) === (this.side.get(to) ?? 0);
  }

  private delay(): number { return this.link.delay + this.random() * this.link.jitter; }

  transportFor(self: Address): Transport {
    const me = key(self);
    return {
      sendPacket: (to, buf) => {
        this.packets++;
        this.bytes += buf.length;
        const dest = key(to);
        if (this.random() < this.link.loss || !this.reachable(me, dest)) return;
        this.clock.setTimer(this.arrival(dest), () => this.handlers.get(dest)?.handlePacket(buf, self));
      },
      request: (to, data, parse, timeoutMs) => this.request(self, to, data, parse, timeoutMs),
    };
  }

  private request(self: Address, to: Address, data: Uint8Array, parse: ReplyParser | null, timeoutMs: number): Promise<StreamMessage | null> {
    this.streams++;
    this.streamBytes += data.length;
    this.clock.pending++;
    return new Promise<StreamMessage | null>((resolve, reject) => {
      const timeout = this.clock.setTimer(timeoutMs, () => reject(new Error('i/o timeout')));
      const handler = this.handlers.get(key(to));
      if (handler === undefined || !this.reachable(key(self), key(to))) return;
      this.clock.setTimer(this.arrival(key(to)), () => {
        let msg: StreamMessage | null;
        try { msg = handler.parseStream(data); } catch (err) { timeout.cancel(); reject(err as Error); return; }
        if (msg === null) return;
        handler.handleStream(msg, self).then((reply) => {
          if (reply !== null) this.streamBytes += reply.length;
          this.clock.setTimer(this.delay(), () => {
            timeout.cancel();
            try { resolve(parse === null || reply === null ? null : parse(reply)); } catch (err) { reject(err as Error); }
          });
        }, (err: Error) => { timeout.cancel(); reject(err); });
      });
    }).finally(() => { this.clock.pending--; });
  }
}
