/**
 * The typed IPC between the primary of `--workers N` (the control plane: health checks, DNS, the
 * membership merge) and its workers (which only forward). Every message carries the protocol
 * version `v`; a message of another version or shape is refused by `decode*`, never half-applied.
 *
 * Primary -> worker: one full `snapshot` when the worker says `hello`, then changes in order,
 * each with the next `seq`: `sites` (the membership changed: every site's backends, and the health
 * of the endpoints that are new), `health` (one endpoint's flags changed), `addresses` (a host
 * name's DNS answer changed). A worker that sees a gap in `seq` asks for a snapshot again.
 *
 * Worker -> primary: `hello` (send me the current snapshot), `evidence` (a request failed, or the
 * outlier detector wants a backend ejected: the primary decides and announces the result), and
 * `metrics-ask` (a scrape on the main port: the primary answers with every process's counters summed).
 */
import type { BackendSpec, SiteSpec } from '../config/types.js';
import type { ConnectAddress } from '../upstream/backend.js';
import type { HealthState } from '../upstream/health-state.js';

import type { RemovalNotice } from '../cache/removals.js';

export const PROTOCOL_VERSION = 1;

/**
 * An endpoint's health flags, compact: [bits, since, ejectedUntil, lastDowntimeMs, lastError] with
 * bits 1 online, 2 probed, 4 activeUp, 8 passiveOut.
 */
export type HealthFlags = readonly [number, number, number, number, string];

export type EndpointHealth = readonly [endpoint: string, flags: HealthFlags];
export type NameAddresses = readonly [name: string, addresses: readonly ConnectAddress[]];

export type PrimaryMessage =
  | { readonly v: 1; readonly type: 'snapshot'; readonly seq: number; readonly sites: readonly SiteSpec[]; readonly health: readonly EndpointHealth[]; readonly addresses: readonly NameAddresses[] }
  | { readonly v: 1; readonly type: 'sites'; readonly seq: number; readonly sites: readonly SiteSpec[]; readonly health: readonly EndpointHealth[] }
  | { readonly v: 1; readonly type: 'health'; readonly seq: number; readonly endpoint: string; readonly flags: HealthFlags }
  | { readonly v: 1; readonly type: 'addresses'; readonly seq: number; readonly name: string; readonly addresses: readonly ConnectAddress[] }
  | { readonly v: 1; readonly type: 'metrics-text'; readonly id: number; readonly text: string }
  | { readonly v: 1; readonly type: 'metrics-request'; readonly id: number }
  | { readonly v: 1; readonly type: 'cache-removal'; readonly notice: RemovalNotice }
  /** Fills another sidecar (by gossip) or worker stored, for this worker's store index: h1, h2 pairs (cache/fill-news.ts). */
  | { readonly v: 1; readonly type: 'cache-fills'; readonly keys: readonly number[] };

/** What a worker asks the primary to answer for the whole group: the metrics text, or /v1/backends. */
export type GroupView = 'metrics' | 'backends' | 'members';

export type Evidence =
  | { readonly kind: 'request-failed'; readonly endpoint: string; readonly reason: string }
  | { readonly kind: 'eject'; readonly endpoint: string; readonly until: number; readonly reason: string };

export type WorkerMessage =
  | { readonly v: 1; readonly type: 'hello' }
  | { readonly v: 1; readonly type: 'listening'; readonly address: string }
  | { readonly v: 1; readonly type: 'evidence'; readonly evidence: Evidence }
  | { readonly v: 1; readonly type: 'metrics-ask'; readonly id: number; readonly what?: GroupView }
  | { readonly v: 1; readonly type: 'metrics'; readonly id: number; readonly readings: unknown[] }
  /** A cache removal in this worker, relayed by the primary to the others (their memory tiers and fills follow it). */
  | { readonly v: 1; readonly type: 'cache-removal'; readonly notice: RemovalNotice }
  /** This worker's fills (h1, h2 pairs), for the other workers' store indexes and, by gossip, the other sidecars'. */
  | { readonly v: 1; readonly type: 'cache-fills'; readonly keys: readonly number[] };

const ONLINE = 1;
const PROBED = 2;
const ACTIVE_UP = 4;
const PASSIVE_OUT = 8;

export function flagsOf(h: HealthState): HealthFlags {
  const bits = (h.online ? ONLINE : 0) | (h.probed ? PROBED : 0) | (h.activeUp ? ACTIVE_UP : 0) | (h.passiveOut ? PASSIVE_OUT : 0);
  return [bits, h.since, h.ejectedUntil, h.lastDowntimeMs, h.lastError];
}

/** Copy the primary's verdict into a worker's state (the worker never decides by itself). */
export function assignFlags(h: HealthState, f: HealthFlags): void {
  const [bits, since, ejectedUntil, lastDowntimeMs, lastError] = f;
  h.online = (bits & ONLINE) !== 0;
  h.probed = (bits & PROBED) !== 0;
  h.activeUp = (bits & ACTIVE_UP) !== 0;
  h.passiveOut = (bits & PASSIVE_OUT) !== 0;
  h.since = since;
  h.ejectedUntil = ejectedUntil;
  h.lastDowntimeMs = lastDowntimeMs;
  h.lastError = lastError;
}

type Check = (m: Record<string, unknown>) => boolean;

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isStr = (x: unknown): x is string => typeof x === 'string';
const isArr = Array.isArray;

function isFlags(x: unknown): boolean {
  return isArr(x) && x.length === 5 && isNum(x[0]) && isNum(x[1]) && isNum(x[2]) && isNum(x[3]) && isStr(x[4]);
}

function isSpec(x: unknown): x is BackendSpec {
  const b = x as Record<string, unknown>;
  return typeof x === 'object' && x !== null && isStr(b.url) && (b.protocol === 'http:' || b.protocol === 'https:')
    && isStr(b.hostname) && isNum(b.port) && isStr(b.basePath) && (b.address === undefined || isStr(b.address));
}

function isSites(x: unknown): boolean {
  return isArr(x) && x.every((s: Record<string, unknown>) => typeof s === 'object' && s !== null
    && isNum(s.index) && isStr(s.source) && isArr(s.backends) && s.backends.every(isSpec));
}

function isAddresses(x: unknown): boolean {
  return isArr(x) && x.every((a: Record<string, unknown>) => typeof a === 'object' && a !== null && isStr(a.address) && (a.family === 4 || a.family === 6));
}

const isHealthList = (x: unknown): boolean => isArr(x) && x.every((e) => isArr(e) && e.length === 2 && isStr(e[0]) && isFlags(e[1]));

const PRIMARY: Record<PrimaryMessage['type'], Check> = {
  snapshot: (m) => isNum(m.seq) && isSites(m.sites) && isHealthList(m.health)
    && isArr(m.addresses) && m.addresses.every((e) => isArr(e) && e.length === 2 && isStr(e[0]) && isAddresses(e[1])),
  sites: (m) => isNum(m.seq) && isSites(m.sites) && isHealthList(m.health),
  health: (m) => isNum(m.seq) && isStr(m.endpoint) && isFlags(m.flags),
  addresses: (m) => isNum(m.seq) && isStr(m.name) && isAddresses(m.addresses),
  'metrics-text': (m) => isNum(m.id) && isStr(m.text),
  'metrics-request': (m) => isNum(m.id),
  'cache-removal': (m) => isNotice(m.notice),
  'cache-fills': (m) => isKeyPairs(m.keys),
};

function isNotice(x: unknown): boolean {
  const n = x as Record<string, unknown>;
  return typeof x === 'object' && x !== null && (n.phase === 'begin' || n.phase === 'end' || n.phase === 'peer') && isStr(n.dir) && isStr(n.url) && typeof n.ok === 'boolean'
    && (n.local === undefined || typeof n.local === 'boolean');
}

/** Pairs of 32-bit words, a bounded number of them. */
function isKeyPairs(x: unknown): boolean {
  return isArr(x) && x.length % 2 === 0 && x.length <= 2 * 65_536 && x.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff);
}

function isEvidence(x: unknown): boolean {
  const e = x as Record<string, unknown>;
  if (typeof x !== 'object' || x === null || !isStr(e.endpoint) || !isStr(e.reason)) return false;
  return e.kind === 'request-failed' || (e.kind === 'eject' && isNum(e.until));
}

const WORKER: Record<WorkerMessage['type'], Check> = {
  hello: () => true,
  listening: (m) => isStr(m.address),
  evidence: (m) => isEvidence(m.evidence),
  'metrics-ask': (m) => isNum(m.id) && (m.what === undefined || m.what === 'metrics' || m.what === 'backends' || m.what === 'members'),
  metrics: (m) => isNum(m.id) && isArr(m.readings),
  'cache-removal': (m) => isNotice(m.notice),
  'cache-fills': (m) => isKeyPairs(m.keys),
};

export type Decoded<T> = { readonly ok: true; readonly message: T } | { readonly ok: false; readonly error: string };

function decode<T>(raw: unknown, checks: Record<string, Check>): Decoded<T> {
  if (typeof raw !== 'object' || raw === null) return { ok: false, error: 'not an object' };
  const m = raw as Record<string, unknown>;
  if (m.v !== PROTOCOL_VERSION) return { ok: false, error: `protocol version ${String(m.v)}, expected ${PROTOCOL_VERSION}` };
  const check = isStr(m.type) && Object.hasOwn(checks, m.type) ? checks[m.type]! : null;
  if (check === null) return { ok: false, error: `unknown message type ${JSON.stringify(m.type)}` };
  return check(m) ? { ok: true, message: raw as T } : { ok: false, error: `malformed ${m.type as string} message` };
}

/** A message from the primary, checked; anything else is an error naming why. */
export function decodePrimaryMessage(raw: unknown): Decoded<PrimaryMessage> {
  return decode(raw, PRIMARY);
}

export function decodeWorkerMessage(raw: unknown): Decoded<WorkerMessage> {
  return decode(raw, WORKER);
}
