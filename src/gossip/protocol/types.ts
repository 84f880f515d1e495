/**
 * What the protocol core needs from the world, injected so the same state
 * machine runs on real sockets (../transport) and in the simulator (sim/).
 */
import type { StreamMessage } from '../codec/stream.js';

export interface Timer { cancel(): void }

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimer(ms: number, fn: () => void): Timer;
}

export interface Address { readonly addr: string; readonly port: number }

export type ReplyParser = (buf: Uint8Array) => StreamMessage | null;

export interface Transport {
  /** One datagram, best effort. */
  sendPacket(to: Address, buf: Uint8Array): void;
  /**
   * Dial, write `data` and, when `parseReply` is given, read until it returns a
   * message. Rejects on connect/read failure or after `timeoutMs`.
   */
  request(to: Address, data: Uint8Array, parseReply: ReplyParser | null, timeoutMs: number): Promise<StreamMessage | null>;
}

/** What the transport calls on the protocol for inbound traffic. */
export interface InboundHandler {
  handlePacket(buf: Uint8Array, from: Address): void;
  /** Incremental parse of an inbound stream; null = need more bytes. Throws to refuse. */
  parseStream(buf: Uint8Array): StreamMessage | null;
  /** The reply bytes to write (or null), after which the connection closes. */
  handleStream(msg: StreamMessage, from: Address): Promise<Uint8Array | null>;
}

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/** A member as memberlist's Node: what delegates and the API see. */
export interface Member {
  readonly name: string;
  readonly addr: string;
  readonly port: number;
  readonly meta: Uint8Array;
  readonly incarnation: number;
  readonly state: MemberState;
  /** Clock time of the last state change. */
  readonly stateChange: number;
  /** [PMin, PMax, PCur, DMin, DMax, DCur] */
  readonly vsn: readonly number[];
}

/**
 * memberlist's Delegate, same methods and meaning (memberlist delegate.go):
 * the service catalog rides on user messages and push/pull state.
 */
export interface Delegate {
  /** Meta for our alive messages, at most `limit` (512) bytes. */
  nodeMeta(limit: number): Uint8Array;
  /** A user message arrived (UDP or TCP). Copy `buf` if kept. */
  notifyMsg(buf: Uint8Array): void;
  /** User broadcasts to piggyback on gossip; each costs `overhead` bytes on top of its length. */
  getBroadcasts(overhead: number, limit: number): Uint8Array[];
  /** Our application state for a push/pull; `join` is true during a join. */
  localState(join: boolean): Uint8Array;
  mergeRemoteState(buf: Uint8Array, join: boolean): void;
}

/** memberlist's EventDelegate. */
export interface EventDelegate {
  notifyJoin(node: Member): void;
  notifyLeave(node: Member): void;
  notifyUpdate(node: Member): void;
}

export type LogLevel = 'debug' | 'info' | 'warn';
export type Logger = (level: LogLevel, msg: string) => void;
