/**
 * The state of one proxied request, made when its head arrived and dropped when it ends. It only
 * holds copies (strings), never offsets into a read buffer, so it survives every asynchronous
 * phase; filters see it as a RequestView and edit it through RequestEdit.
 */
import type { Backend } from '../upstream/backend.js';
import type { ProxyError } from './errors.js';
import { backendAuthority } from './header-rules.js';
import type { ClientProtocol, ProxyFilter, RequestEdit, RequestView } from './pipeline.js';

export interface RequestInit extends Pick<RequestView, 'protocol' | 'method' | 'target' | 'authority' | 'clientIp' | 'hasBody'> {
  /** Header lines to send upstream ("Name: value\r\n" each), every rule of header-rules.ts applied. */
  readonly headerBlock: string;
  /** The client sent no Host (HTTP/1.0): each attempt adds the backend's own. */
  readonly hostMissing: boolean;
  /** HTTP/1.x minor version of the upstream request line (1 for HTTP/2 clients). */
  readonly versionMinor: number;
}

export class ProxyRequest implements RequestView, RequestEdit {
  readonly protocol: ClientProtocol;
  readonly method: string;
  readonly target: string;
  readonly authority: string;
  readonly clientIp: string;
  readonly hasBody: boolean;
  readonly hostMissing: boolean;
  readonly versionMinor: number;
  headerBlock: string;
  /** What goes upstream as the target (a filter may change it). */
  upstreamTarget: string;

  readonly startedAt = performance.now();
  readonly startedWall = Date.now();
  /** Status sent to the client, 0 until one was. */
  status = 0;
  /** Milliseconds from arrival to the response head. */
  ttfb = 0;
  /** Body bytes from the client / to the client, as relayed. */
  rx = 0;
  tx = 0;
  attempts = 0;
  /** Backends this request already failed on (null until one did: no allocation on the common path). */
  tried: Backend[] | null = null;
  /** A stale pooled connection was already retried on a fresh one. */
  staleRetried = false;
  /** The last attempt's backend, and its URL for the trace. */
  backend: Backend | null = null;
  lastBackend = '';
  error: ProxyError | null = null;
  /** A response head (or an answer) went to the client. */
  responded = false;
  /** The filter that answered this request, if one did. */
  answeredBy: ProxyFilter | null = null;
  /** Only with --debug: the heads as objects for the trace. */
  debugHeaders: { requestHeaders: Record<string, unknown>; responseHeaders: Record<string, unknown> } | null = null;

  constructor(init: RequestInit) {
    this.protocol = init.protocol;
    this.method = init.method;
    this.target = init.target;
    this.upstreamTarget = init.target;
    this.authority = init.authority;
    this.clientIp = init.clientIp;
    this.hasBody = init.hasBody;
    this.headerBlock = init.headerBlock;
    this.hostMissing = init.hostMissing;
    this.versionMinor = init.versionMinor;
  }

  /** The request line and header block sent to backend `b`. */
  upstreamHead(b: Backend): string {
    const host = this.hostMissing ? `Host: ${backendAuthority(b.spec)}\r\n` : '';
    // HTTP/1.0 goes upstream as 1.0 (so no chunked answer comes back for a 1.0 client), asking to
    // keep our connection: its persistence is hop-by-hop, not the client's.
    const keep = this.versionMinor === 0 ? 'Connection: keep-alive\r\n' : '';
    return `${this.method} ${b.spec.basePath}${this.upstreamTarget} HTTP/1.${this.versionMinor}\r\n${host}${this.headerBlock}${keep}\r\n`;
  }

  header(name: string): string | undefined {
    const at = this.lineOf(name.toLowerCase());
    if (at < 0) return undefined;
    const end = this.headerBlock.indexOf('\r\n', at);
    return this.headerBlock.slice(at + name.length + 1, end).trim();
  }

  fields(): string[] {
    const out: string[] = [];
    const block = this.headerBlock;
    for (let at = 0; at < block.length;) {
      const end = block.indexOf('\r\n', at);
      const colon = block.indexOf(':', at);
      out.push(block.slice(at, colon), block.slice(colon + 1, end).trim());
      at = end + 2;
    }
    return out;
  }

  cookie(name: string): string | undefined {
    const header = this.header('cookie');
    if (header === undefined) return undefined;
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
    }
    return undefined;
  }

  query(name: string): string | undefined {
    const q = this.target.indexOf('?');
    if (q < 0) return undefined;
    for (const part of this.target.slice(q + 1).split('&')) {
      const eq = part.indexOf('=');
      if ((eq < 0 ? part : part.slice(0, eq)) === name) return eq < 0 ? '' : part.slice(eq + 1);
    }
    return undefined;
  }

  setHeader(name: string, value: string | null): void {
    const lower = name.toLowerCase();
    for (let at = this.lineOf(lower); at >= 0; at = this.lineOf(lower)) {
      const end = this.headerBlock.indexOf('\r\n', at) + 2;
      this.headerBlock = this.headerBlock.slice(0, at) + this.headerBlock.slice(end);
    }
    if (value !== null) {
      if (/[\r\n]/.test(value) || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new TypeError(`invalid header ${name}`);
      this.headerBlock += `${name}: ${value}\r\n`;
    }
  }

  setTarget(target: string): void {
    if (target.charCodeAt(0) !== 47 /* / */ || /[\s\0]/.test(target)) throw new TypeError(`invalid origin-form target ${target}`);
    this.upstreamTarget = target;
  }

  /** Offset of the line whose lower-cased name is `lower`, or -1. */
  private lineOf(lower: string): number {
    const block = this.headerBlock;
    for (let at = 0; at < block.length;) {
      const end = block.indexOf('\r\n', at);
      if (block.charCodeAt(at + lower.length) === 58 /* : */ && block.slice(at, at + lower.length).toLowerCase() === lower) return at;
      at = end + 2;
    }
    return -1;
  }
}
