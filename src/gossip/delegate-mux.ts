/**
 * One memberlist Delegate for several users of gossip: the service catalog (the main delegate:
 * node meta, push/pull state, and its user messages, JSON texts as Nitro Sidecar sends them) and
 * channels of other user messages, each told apart by a first byte no JSON text starts with
 * (the cache's fill news, 0xC1). The catalog's broadcasts go first; channels share what room is
 * left in the packet.
 */
import type { Delegate } from './protocol/types.js';

/** User messages of one kind: every message starts with `magic`. */
export interface GossipChannel {
  readonly magic: number;
  heard(buf: Uint8Array): void;
  broadcasts(overhead: number, limit: number): Uint8Array[];
}

const EMPTY = new Uint8Array(0);

export class DelegateMux implements Delegate {
  private readonly channels = new Map<number, GossipChannel>();
  private readonly main: Delegate | null;

  constructor(main: Delegate | null) {
    this.main = main;
  }

  /** Adds a channel (at any time: the cache may start after gossip). */
  add(channel: GossipChannel): void {
    this.channels.set(channel.magic, channel);
  }

  nodeMeta(limit: number): Uint8Array {
    return this.main?.nodeMeta(limit) ?? EMPTY;
  }

  notifyMsg(buf: Uint8Array): void {
    const channel = buf.length > 0 ? this.channels.get(buf[0]!) : undefined;
    if (channel !== undefined) channel.heard(buf);
    else this.main?.notifyMsg(buf);
  }

  getBroadcasts(overhead: number, limit: number): Uint8Array[] {
    const out = this.main?.getBroadcasts(overhead, limit) ?? [];
    let used = 0;
    for (const msg of out) used += overhead + msg.length;
    for (const channel of this.channels.values()) {
      for (const msg of channel.broadcasts(overhead, limit - used)) {
        out.push(msg);
        used += overhead + msg.length;
      }
    }
    return out;
  }

  localState(join: boolean): Uint8Array {
    return this.main?.localState(join) ?? EMPTY;
  }

  mergeRemoteState(buf: Uint8Array, join: boolean): void {
    this.main?.mergeRemoteState(buf, join);
  }
}
