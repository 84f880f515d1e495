/**
 * TCP streams (memberlist-wire.md §1, §7): one request and at most one reply
 * per connection, no overall length unless encrypted, and the dialer does not
 * half-close, so the reader parses incrementally: `parseStream` returns null
 * until the buffered bytes hold a whole message.
 */
import { type Keyring } from './crypto.js';
import { compress, compressedEnd, decompress, FrameError, labelHeader, readLabel } from './layers.js';
import { concat } from './lzw.js';
import {
  decodeAck, decodeErr, decodePing, decodePushNodeState, decodePushPullHeader, MsgType, pushNodeStateMap,
  pushPullHeaderMap, type Ack, type Ping, type PushNodeState, type PushPullHeader,
} from './messages.js';
import { decodeMap, encodeValue, uint, valueEnd } from './msgpack.js';
import type { WireOptions } from './packet.js';

/** memberlist refuses encrypted stream bodies over 20 MiB (maxPushStateBytes). */
export const MAX_STREAM_BYTES = 20 << 20;

export type StreamMessage =
  | { readonly kind: 'ping'; readonly msg: Ping }
  | { readonly kind: 'ack'; readonly msg: Ack }
  | { readonly kind: 'pushPull'; readonly header: PushPullHeader; readonly nodes: PushNodeState[]; readonly userState: Uint8Array }
  | { readonly kind: 'user'; readonly payload: Uint8Array }
  | { readonly kind: 'err'; readonly error: string };

export function encodePushPull(join: boolean, nodes: readonly PushNodeState[], userState: Uint8Array): Uint8Array {
  const header = pushPullHeaderMap({ join, nodes: nodes.length, userStateLen: userState.length });
  return concat([Uint8Array.of(MsgType.pushPull), encodeValue(header), ...nodes.map((n) => encodeValue(pushNodeStateMap(n))), userState]);
}

export function encodeUserStream(payload: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(MsgType.user), encodeValue({ UserMsgLen: payload.length }), payload]);
}

/** Compress always (when enabled), then encrypt as 0a + length + block with that header as AAD. */
export function sealStream(msg: Uint8Array, opts: WireOptions): Uint8Array {
  const body = opts.compression ? compress(msg) : msg;
  if (opts.keyring === null) return body;
  const blockLen = body.length + 29;
  const header = new Uint8Array(5);
  header[0] = MsgType.encrypt;
  new DataView(header.buffer).setUint32(1, blockLen);
  const block = opts.keyring.encrypt(body, concat([header, labelHeader(opts.label).subarray(2)]));
  return concat([header, block]);
}

/** The label header a dialer writes once at the start of a connection. */
export const streamPreamble = (opts: WireOptions): Uint8Array => labelHeader(opts.label);

/**
 * Parse one message from the start of a stream. `expectLabel` is true on the
 * accepting side (the dialer sends the label). Returns null when more bytes
 * are needed; throws when the stream must be refused.
 */
export function parseStream(buf: Uint8Array, opts: WireOptions, expectLabel: boolean): StreamMessage | null {
  let label = '';
  if (expectLabel) {
    const l = readLabel(buf);
    if (l === null) return null;
    label = l.label;
    if (label !== opts.label) throw new FrameError(`label "${label}" is not ours`);
    buf = buf.subarray(l.rest);
  }
  if (buf.length === 0) return null;
  if (buf[0] === MsgType.encrypt) {
    if (opts.keyring === null) throw new FrameError('encrypted stream but no key is set');
    if (buf.length < 5) return null;
    const len = new DataView(buf.buffer, buf.byteOffset + 1, 4).getUint32(0);
    if (len > MAX_STREAM_BYTES) throw new FrameError(`encrypted stream of ${len} bytes is too large`);
    if (buf.length < 5 + len) return null;
    const aad = concat([buf.subarray(0, 5), new TextEncoder().encode(opts.label)]);
    return complete(unwrapCompressed(opts.keyring.decrypt(buf.subarray(5, 5 + len), aad), true));
  }
  if (opts.keyring !== null && opts.verifyIncoming) throw new FrameError('plaintext stream refused: encryption is on');
  const inner = unwrapCompressed(buf, false);
  return inner === null ? null : parseMessage(inner.buf, inner.whole);
}

function complete(inner: { buf: Uint8Array; whole: boolean } | null): StreamMessage {
  const m = inner === null ? null : parseMessage(inner.buf, true);
  if (m === null) throw new FrameError('truncated stream message');
  return m;
}

/** A leading 09 is decompressed (outermost only, §1); `whole` says no more bytes can follow. */
function unwrapCompressed(buf: Uint8Array, whole: boolean): { buf: Uint8Array; whole: boolean } | null {
  if (buf[0] !== MsgType.compress) return { buf, whole };
  const end = compressedEnd(buf);
  if (end < 0 || end > buf.length) {
    if (whole) throw new FrameError('truncated compressed stream');
    return null;
  }
  return { buf: decompress(buf.subarray(1, end), MAX_STREAM_BYTES), whole: true };
}

const STREAM_TYPES: ReadonlySet<number | undefined> = new Set([MsgType.ping, MsgType.ack, MsgType.err, MsgType.user, MsgType.pushPull]);

function parseMessage(buf: Uint8Array, whole: boolean): StreamMessage | null {
  const type = buf[0];
  if (!STREAM_TYPES.has(type)) throw new FrameError(`unexpected stream message type ${String(type)}`);
  const firstEnd = valueEnd(buf, 1);
  if (firstEnd < 0 || firstEnd > buf.length) {
    if (whole) throw new FrameError('truncated stream message');
    return null;
  }
  const body = buf.subarray(1, firstEnd);
  switch (type) {
    case MsgType.ping: return { kind: 'ping', msg: decodePing(body) };
    case MsgType.ack: return { kind: 'ack', msg: decodeAck(body) };
    case MsgType.err: return { kind: 'err', error: decodeErr(body) };
    case MsgType.user: return parseUser(buf, body, firstEnd, whole);
    case MsgType.pushPull: return parsePushPull(buf, body, firstEnd, whole);
    default: throw new FrameError(`unexpected stream message type ${String(type)}`);
  }
}

function parseUser(buf: Uint8Array, body: Uint8Array, at: number, whole: boolean): StreamMessage | null {
  const len = uint(decodeMap(body), 'UserMsgLen', MAX_STREAM_BYTES);
  if (buf.length < at + len) return need(whole);
  return { kind: 'user', payload: buf.slice(at, at + len) };
}

function parsePushPull(buf: Uint8Array, body: Uint8Array, at: number, whole: boolean): StreamMessage | null {
  const header = decodePushPullHeader(body);
  const nodes: PushNodeState[] = [];
  for (let i = 0; i < header.nodes; i++) {
    const end = valueEnd(buf, at);
    if (end < 0 || end > buf.length) return need(whole);
    nodes.push(decodePushNodeState(buf.subarray(at, end)));
    at = end;
  }
  if (buf.length < at + header.userStateLen) return need(whole);
  return { kind: 'pushPull', header, nodes, userState: buf.slice(at, at + header.userStateLen) };
}

function need(whole: boolean): null {
  if (whole) throw new FrameError('truncated stream message');
  return null;
}
