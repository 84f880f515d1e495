/**
 * UDP packets end to end (memberlist-wire.md §1 "Layer order"): sealing a
 * message for the wire and opening a received datagram into messages.
 */
import type { Keyring } from './crypto.js';
import { addCrc, checkCrc, compress, decompress, FrameError, labelHeader, readLabel, splitCompound } from './layers.js';
import { concat } from './lzw.js';
import {
  decodeAccusation, decodeAck, decodeAlive, decodeIndirectPing, decodeNack, decodePing, MsgType,
  type Accusation, type Ack, type Alive, type IndirectPing, type Nack, type Ping,
} from './messages.js';

export interface WireOptions {
  /** Encrypt with the primary key, decrypt with any; null = plaintext. */
  readonly keyring: Keyring | null;
  /** memberlist ≥ 0.3.0 label; "" sends none and accepts only unlabelled traffic. */
  readonly label: string;
  readonly compression: boolean;
  /** GossipVerifyIncoming: refuse plaintext when a keyring is set. */
  readonly verifyIncoming: boolean;
}

export type PacketMessage =
  | { readonly kind: 'ping'; readonly msg: Ping }
  | { readonly kind: 'indirectPing'; readonly msg: IndirectPing }
  | { readonly kind: 'ack'; readonly msg: Ack }
  | { readonly kind: 'nack'; readonly msg: Nack }
  | { readonly kind: 'suspect'; readonly msg: Accusation }
  | { readonly kind: 'alive'; readonly msg: Alive }
  | { readonly kind: 'dead'; readonly msg: Accusation }
  | { readonly kind: 'user'; readonly payload: Uint8Array };

/** `crc` is decided by the caller: only for peers whose PMax ≥ 5 (§1). */
export function sealPacket(msg: Uint8Array, opts: WireOptions, crc: boolean): Uint8Array {
  let out = msg;
  if (opts.compression) {
    const c = compress(msg);
    if (c.length < msg.length) out = c;
  }
  if (crc) out = addCrc(out);
  const label = labelHeader(opts.label);
  if (opts.keyring !== null) out = opts.keyring.encrypt(out, label.length > 0 ? label.subarray(2) : null);
  return label.length > 0 ? concat([label, out]) : out;
}

/** Label, decryption and CRC; what remains is one (possibly compound) message. Throws to drop. */
export function openPacket(buf: Uint8Array, opts: WireOptions): Uint8Array {
  const l = readLabel(buf);
  if (l === null) throw new FrameError('empty or truncated packet');
  if (l.label !== opts.label) throw new FrameError(`label "${l.label}" is not ours`);
  let rest = buf.subarray(l.rest);
  if (opts.keyring !== null) {
    try {
      rest = opts.keyring.decrypt(rest, l.label === '' ? null : new TextEncoder().encode(l.label));
    } catch (err) {
      if (opts.verifyIncoming) throw err;
    }
  }
  return checkCrc(rest);
}

const MAX_NESTING = 4;

/** Flatten compound and compress wrappers (any depth, as Go's handleCommand recurses). */
export function expandMessages(msg: Uint8Array, depth = 0): Uint8Array[] {
  if (depth > MAX_NESTING) throw new FrameError('messages nested too deep');
  if (msg.length === 0) throw new FrameError('empty message');
  if (msg[0] === MsgType.compound) return splitCompound(msg.subarray(1)).flatMap((p) => expandMessages(p, depth + 1));
  if (msg[0] === MsgType.compress) return expandMessages(decompress(msg.subarray(1), 1 << 20), depth + 1);
  return [msg];
}

/** One packet message; null for types that are not packets (logged and dropped by the caller). */
export function decodePacketMessage(msg: Uint8Array): PacketMessage | null {
  const body = msg.subarray(1);
  switch (msg[0]) {
    case MsgType.ping: return { kind: 'ping', msg: decodePing(body) };
    case MsgType.indirectPing: return { kind: 'indirectPing', msg: decodeIndirectPing(body) };
    case MsgType.ack: return { kind: 'ack', msg: decodeAck(body) };
    case MsgType.nack: return { kind: 'nack', msg: decodeNack(body) };
    case MsgType.suspect: return { kind: 'suspect', msg: decodeAccusation(body) };
    case MsgType.alive: return { kind: 'alive', msg: decodeAlive(body) };
    case MsgType.dead: return { kind: 'dead', msg: decodeAccusation(body) };
    case MsgType.user: return { kind: 'user', payload: body };
    default: return null;
  }
}

export interface DecodedPacket {
  readonly messages: PacketMessage[];
  /** Parts that were not valid messages: skipped, like Go logs and skips them. */
  readonly bad: number;
}

/** Everything in a datagram, in order. Throws when the packet as a whole must be dropped. */
export function decodePacket(buf: Uint8Array, opts: WireOptions): DecodedPacket {
  const messages: PacketMessage[] = [];
  let bad = 0;
  for (const part of expandMessages(openPacket(buf, opts))) {
    try {
      const m = decodePacketMessage(part);
      if (m === null) bad++;
      else messages.push(m);
    } catch {
      bad++;
    }
  }
  return { messages, bad };
}
