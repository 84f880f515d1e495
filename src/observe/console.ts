import { STATUS_CODES } from 'node:http';
import type pino from 'pino';
import { createRequire } from 'node:module';
import type { SonicBoom as SonicBoomType } from 'sonic-boom';
import type { Config, TraceMode } from '../config/types.js';
import type { StateChange } from '../upstream/upstream-set.js';
import { goDuration, humanBytes } from './format.js';
import { redactHeaders, redactTarget } from './redact.js';

/** One finished request (or health check), as the trace prints it. */
export interface TraceRecord {
  readonly kind: 'application' | 'minio';
  readonly time: number;
  readonly backend: string;
  readonly method: string;
  readonly path: string;
  readonly client: string;
  readonly status: number;
  readonly latencyMs: number;
  readonly ttfbMs: number;
  readonly rx: number;
  readonly tx: number;
  readonly error?: string;
  readonly requestHeaders?: Record<string, unknown>;
  readonly responseHeaders?: Record<string, unknown>;
}

/**
 * pino is loaded only for --json (it costs ~9 MiB of RSS a text-mode sidecar need not pay);
 * the process edge awaits this before building a Console.
 */
let pinoModule: typeof pino | null = null;

/** sonic-boom is CommonJS whose class Node's ESM loader does not expose by name. */
const SonicBoom = createRequire(import.meta.url)('sonic-boom') as typeof SonicBoomType;

export async function prepareConsole(json: boolean): Promise<void> {
  if (json && pinoModule === null) pinoModule = (await import('pino')).default;
}

/** debugRaw is optional: a Console built by hand (in tests) redacts. */
type ConsoleOptions = Pick<Config, 'log' | 'trace' | 'errors' | 'statusCodes' | 'quiet' | 'json' | 'debug'> & Partial<Pick<Config, 'debugRaw'>>;

/**
 * Everything Outrigger prints while running: state changes (`--log`), request traces
 * (`--trace`), and a few operational lines. JSON lines go through pino, text lines are built by
 * hand and written to the same asynchronous stdout stream so both stay cheap and ordered.
 */
export class Console {
  readonly tracing: TraceMode | undefined;
  readonly debug: boolean;
  private readonly options: ConsoleOptions;
  private readonly dest: SonicBoomType;
  /** One pino logger per line type: pino always writes its level first, so the level formatter writes the type field. */
  private readonly json: { trace: pino.Logger; log: pino.Logger; info: pino.Logger } | null;
  private readonly statusFilter: ReadonlySet<number>;

  constructor(options: ConsoleOptions, logStateChanges: boolean) {
    this.options = { ...options, log: logStateChanges };
    this.tracing = options.quiet ? undefined : options.trace;
    this.debug = options.debug;
    this.statusFilter = new Set(options.statusCodes);
    // sonic-boom (pino's own stdout writer): asynchronous, batched writes for text and JSON alike.
    this.dest = new SonicBoom({ fd: 1, sync: false, minLength: 0 });
    const p = pinoModule;
    if (options.json && p === null) throw new Error('prepareConsole(true) must run before a JSON Console is built');
    const typed = (field: string, type: string): pino.Logger =>
      p!({ base: null, timestamp: false, formatters: { level: () => ({ [field]: type }) } }, this.dest);
    this.json = options.json ? { trace: typed('type', 'TRACE'), log: typed('Type', 'LOG'), info: typed('Type', 'INFO') } : null;
  }

  /** Operational message (startup, reload, shutdown); not shown with --quiet. */
  info(message: string, fields: Record<string, unknown> = {}): void {
    if (this.options.quiet) return;
    if (this.json !== null) this.json.info.info({ Message: message, Timestamp: new Date().toISOString(), ...fields });
    else this.dest.write(`${new Date().toISOString()} ${message}\n`);
  }

  stateChange(change: StateChange): void {
    if (this.options.quiet || !this.options.log) return;
    const url = change.backend.url;
    const now = new Date().toISOString();
    if (this.json !== null) {
      const entry: Record<string, unknown> = { Endpoint: url, Status: change.status, Timestamp: now };
      if (change.status === 'down') entry['Error'] = change.reason;
      else if (!change.initial) entry['Downtime'] = goDuration(change.downtimeMs);
      this.json.log.info(entry);
    } else if (change.status === 'down') {
      this.dest.write(`${now} ${url} is down: ${change.reason}\n`);
    } else if (change.initial) {
      this.dest.write(`${now} ${url} is up\n`);
    } else {
      this.dest.write(`${now} ${url} is up Downtime duration: ${goDuration(change.downtimeMs)}\n`);
    }
  }

  /** Whether a finished exchange of this kind and status should be traced. */
  wantsTrace(kind: 'application' | 'minio', status: number): boolean {
    const mode = this.tracing;
    if (mode === undefined || (mode !== 'all' && mode !== kind)) return false;
    if (this.statusFilter.size > 0) return this.statusFilter.has(status);
    return !this.options.errors || status >= 400 || status === 0;
  }

  trace(record: TraceRecord): void {
    const r = this.options.debugRaw === true ? record : redacted(record);
    if (this.json !== null) this.json.trace.info(jsonTrace(r));
    else this.dest.write(textTrace(r));
  }

  flush(): void {
    try { this.dest.flushSync?.(); } catch { /* stdout already gone */ }
  }
}

/** The record with its credentials redacted (see redact.ts): signatures in the query, secret headers. */
function redacted(r: TraceRecord): TraceRecord {
  return {
    ...r,
    path: redactTarget(r.path),
    ...(r.requestHeaders !== undefined ? { requestHeaders: redactHeaders(r.requestHeaders) } : {}),
    ...(r.responseHeaders !== undefined ? { responseHeaders: redactHeaders(r.responseHeaders) } : {}),
  };
}

function statusText(status: number): string {
  return status === 0 ? 'ERROR' : STATUS_CODES[status] ?? '';
}

function textTrace(r: TraceRecord): string {
  let line = `${new Date(r.time).toISOString()} [${r.status} ${statusText(r.status)}] ${r.backend} ${r.method} ${r.path} ${r.client} ${goDuration(r.latencyMs)} ↑ ${humanBytes(r.rx)} ↓ ${humanBytes(r.tx)}`;
  if (r.error !== undefined) line += ` error: ${r.error}`;
  if (r.requestHeaders !== undefined) line += `\n  request headers: ${JSON.stringify(r.requestHeaders)}`;
  if (r.responseHeaders !== undefined) line += `\n  response headers: ${JSON.stringify(r.responseHeaders)}`;
  return line + '\n';
}

function jsonTrace(r: TraceRecord): Record<string, unknown> {
  const q = r.path.indexOf('?');
  const entry: Record<string, unknown> = {
    host: r.backend,
    time: new Date(r.time).toISOString(),
    client: r.client,
    callStats: { rx: r.rx, tx: r.tx, latency: goDuration(r.latencyMs), timetofirstbyte: goDuration(r.ttfbMs) },
    statusCode: r.status,
    statusMsg: statusText(r.status),
    method: r.method,
    path: q < 0 ? r.path : r.path.slice(0, q),
    query: q < 0 ? '' : r.path.slice(q + 1),
  };
  if (r.error !== undefined) entry['error'] = r.error;
  if (r.requestHeaders !== undefined) entry['requestHeaders'] = r.requestHeaders;
  if (r.responseHeaders !== undefined) entry['responseHeaders'] = r.responseHeaders;
  return entry;
}
