/**
 * memberlist's message types and their msgpack bodies (memberlist-wire.md §2, §4).
 * Field names are the Go struct fields; msgpack.ts sorts them on the wire.
 */
import { bool, bytes, decodeMap, encodeTyped, str, uint, type WireMap } from './msgpack.js';

export const MsgType = {
  ping: 0, indirectPing: 1, ack: 2, suspect: 3, alive: 4, dead: 5, pushPull: 6, compound: 7,
  user: 8, compress: 9, encrypt: 10, nack: 11, hasCrc: 12, err: 13, hasLabel: 244,
} as const;

/** memberlist NodeStateType as carried in push/pull. */
export const NodeState = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
export type NodeStateCode = (typeof NodeState)[keyof typeof NodeState];

export interface Ping {
  readonly seqNo: number;
  readonly node: string;
  readonly sourceAddr?: Uint8Array | undefined;
  readonly sourceNode?: string | undefined;
  readonly sourcePort?: number | undefined;
}
export interface IndirectPing extends Ping {
  readonly target: Uint8Array;
  readonly port: number;
  readonly nack: boolean;
}
export interface Ack { readonly seqNo: number; readonly payload: Uint8Array | null }
export interface Nack { readonly seqNo: number }
/** suspect and dead share a shape; dead with from === node is a graceful leave. */
export interface Accusation { readonly incarnation: number; readonly node: string; readonly from: string }
export interface Alive {
  readonly incarnation: number;
  readonly node: string;
  readonly addr: Uint8Array;
  readonly port: number;
  readonly meta: Uint8Array | null;
  readonly vsn: Uint8Array;
}
export interface PushPullHeader { readonly nodes: number; readonly userStateLen: number; readonly join: boolean }
export interface PushNodeState {
  readonly name: string;
  readonly addr: Uint8Array;
  readonly port: number;
  readonly meta: Uint8Array | null;
  readonly incarnation: number;
  readonly state: number;
  readonly vsn: Uint8Array;
}

const source = (m: Ping): WireMap => ({
  SourceAddr: m.sourceAddr !== undefined && m.sourceAddr.length > 0 ? m.sourceAddr : undefined,
  SourceNode: m.sourceNode !== undefined && m.sourceNode !== '' ? m.sourceNode : undefined,
  SourcePort: m.sourcePort !== undefined && m.sourcePort !== 0 ? m.sourcePort : undefined,
});

export const encodePing = (m: Ping): Uint8Array =>
  encodeTyped(MsgType.ping, { SeqNo: m.seqNo, Node: m.node, ...source(m) });

export const encodeIndirectPing = (m: IndirectPing): Uint8Array => encodeTyped(MsgType.indirectPing, {
  SeqNo: m.seqNo, Target: m.target, Port: m.port, Node: m.node, Nack: m.nack, ...source(m),
});

export const encodeAck = (m: Ack): Uint8Array => encodeTyped(MsgType.ack, { SeqNo: m.seqNo, Payload: m.payload });
export const encodeNack = (m: Nack): Uint8Array => encodeTyped(MsgType.nack, { SeqNo: m.seqNo });

const accusation = (m: Accusation): WireMap => ({ Incarnation: m.incarnation, Node: m.node, From: m.from });
export const encodeSuspect = (m: Accusation): Uint8Array => encodeTyped(MsgType.suspect, accusation(m));
export const encodeDead = (m: Accusation): Uint8Array => encodeTyped(MsgType.dead, accusation(m));

export const encodeAlive = (m: Alive): Uint8Array => encodeTyped(MsgType.alive, {
  Incarnation: m.incarnation, Node: m.node, Addr: m.addr, Port: m.port, Meta: m.meta, Vsn: m.vsn,
});

export const encodeErr = (error: string): Uint8Array => encodeTyped(MsgType.err, { Error: error });

/** UDP user message: the type byte and the raw payload, no msgpack (§5.4). */
export function encodeUserPacket(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 1);
  out[0] = MsgType.user;
  out.set(payload, 1);
  return out;
}

export const pushNodeStateMap = (n: PushNodeState): WireMap => ({
  Name: n.name, Addr: n.addr, Port: n.port, Meta: n.meta, Incarnation: n.incarnation, State: n.state, Vsn: n.vsn,
});

export const pushPullHeaderMap = (h: PushPullHeader): WireMap =>
  ({ Join: h.join, Nodes: h.nodes, UserStateLen: h.userStateLen });

function decodePingMap(m: WireMap): Ping {
  const sourceAddr = bytes(m, 'SourceAddr');
  return {
    seqNo: uint(m, 'SeqNo'), node: str(m, 'Node'),
    sourceAddr: sourceAddr ?? undefined, sourceNode: str(m, 'SourceNode'), sourcePort: uint(m, 'SourcePort', 0xffff),
  };
}

export const decodePing = (body: Uint8Array): Ping => decodePingMap(decodeMap(body));

export function decodeIndirectPing(body: Uint8Array): IndirectPing {
  const m = decodeMap(body);
  return { ...decodePingMap(m), target: bytes(m, 'Target') ?? new Uint8Array(0), port: uint(m, 'Port', 0xffff), nack: bool(m, 'Nack') };
}

export function decodeAck(body: Uint8Array): Ack {
  const m = decodeMap(body);
  return { seqNo: uint(m, 'SeqNo'), payload: bytes(m, 'Payload') };
}

export const decodeNack = (body: Uint8Array): Nack => ({ seqNo: uint(decodeMap(body), 'SeqNo') });

export function decodeAccusation(body: Uint8Array): Accusation {
  const m = decodeMap(body);
  return { incarnation: uint(m, 'Incarnation'), node: str(m, 'Node'), from: str(m, 'From') };
}

export function decodeAlive(body: Uint8Array): Alive {
  const m = decodeMap(body);
  return {
    incarnation: uint(m, 'Incarnation'), node: str(m, 'Node'), addr: bytes(m, 'Addr') ?? new Uint8Array(0),
    port: uint(m, 'Port', 0xffff), meta: bytes(m, 'Meta'), vsn: bytes(m, 'Vsn') ?? new Uint8Array(0),
  };
}

export const decodeErr = (body: Uint8Array): string => str(decodeMap(body), 'Error');

export function decodePushPullHeader(body: Uint8Array): PushPullHeader {
  const m = decodeMap(body);
  return { join: bool(m, 'Join'), nodes: uint(m, 'Nodes', 1 << 20), userStateLen: uint(m, 'UserStateLen', 20 << 20) };
}

export function decodePushNodeState(body: Uint8Array): PushNodeState {
  const m = decodeMap(body);
  return {
    name: str(m, 'Name'), addr: bytes(m, 'Addr') ?? new Uint8Array(0), port: uint(m, 'Port', 0xffff),
    meta: bytes(m, 'Meta'), incarnation: uint(m, 'Incarnation'), state: uint(m, 'State', 255), vsn: bytes(m, 'Vsn') ?? new Uint8Array(0),
  };
}
