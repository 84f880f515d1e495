import { describeSocketError } from '../tls/errors.js';
/**
 * The one error type of the proxy path. Every failure a request can meet gets a stable code from
 * the table below (never a code invented from a message), the side it came from, and whether it
 * left the backend untouched; the answer to the client (src/proxy/error-response.ts), the trace
 * line and the metrics read these fields, never the message text.
 */

/** Where a failure came from. */
export type ErrorSide = 'client' | 'upstream' | 'store' | 'internal';

interface CodeFacts {
  readonly side: ErrorSide;
  /**
   * Nothing of the request reached a backend, so any request may go to another one. Whether a
   * failure *after* the head was written may be retried depends on the request too: see retry.ts.
   */
  readonly nothingSent: boolean;
  /** Status of the answer the client gets when this error ends the request before its response started. */
  readonly status: number;
}

/** Every code, with its fixed facts. Add a row here; never build a code from a string. */
const CODES = {
  /** The TCP (or TLS) connection to the backend could not be opened: refused, unreachable, no address. */
  UPSTREAM_CONNECT_FAILED: { side: 'upstream', nothingSent: true, status: 502 },
  /** The connection did not open within the connect timeout. */
  UPSTREAM_CONNECT_TIMEOUT: { side: 'upstream', nothingSent: true, status: 502 },
  /** The connection was reset or closed after the request head went out, before a response head came back. */
  UPSTREAM_CLOSED: { side: 'upstream', nothingSent: false, status: 502 },
  /** The backend sent something that is not an HTTP/1.1 response (bad head, bad chunked body, unrequested 101). */
  UPSTREAM_MALFORMED: { side: 'upstream', nothingSent: false, status: 502 },
  /** The response head was relayed, then the backend's body broke off: the client sees a broken response. */
  UPSTREAM_BODY_BROKEN: { side: 'upstream', nothingSent: false, status: 502 },
  /** No response head within the time-to-first-byte timeout, or an upstream body idle for too long. */
  UPSTREAM_TIMEOUT: { side: 'upstream', nothingSent: false, status: 504 },
  /** No backend of any site is ready (or every ready one was tried). */
  NO_BACKEND: { side: 'upstream', nothingSent: true, status: 502 },
  /** The client went away (closed, reset, or an HTTP/2 stream cancelled) before its response ended. */
  CLIENT_CLOSED: { side: 'client', nothingSent: false, status: 499 },
  /** The client stopped sending its request body for --read-timeout. */
  CLIENT_TIMEOUT: { side: 'client', nothingSent: false, status: 408 },
  /** The client's request cannot be forwarded as sent (bad framing, bad target, duplicate Host). */
  CLIENT_BAD_REQUEST: { side: 'client', nothingSent: true, status: 400 },
  /** The shared cache store failed (src/cache); a request can usually still be forwarded. */
  STORE_FAILED: { side: 'store', nothingSent: true, status: 502 },
  /** A bug: an invariant of the proxy itself broke. */
  INTERNAL: { side: 'internal', nothingSent: false, status: 500 },
} as const satisfies Record<string, CodeFacts>;

export type ProxyErrorCode = keyof typeof CODES;

export class ProxyError extends Error {
  readonly code: ProxyErrorCode;
  readonly side: ErrorSide;
  /** Nothing reached a backend: safe to send the request elsewhere whatever its method. */
  readonly retryable: boolean;
  /** Status of the answer if no response has started yet. */
  readonly status: number;
  /** The socket error code behind it (ECONNRESET, ...), for logs; undefined when there was none. */
  readonly sysCode: string | undefined;

  constructor(code: ProxyErrorCode, message: string, sysCode?: string) {
    super(message);
    const facts: CodeFacts = CODES[code];
    this.name = 'ProxyError';
    this.code = code;
    this.side = facts.side;
    this.retryable = facts.nothingSent;
    this.status = facts.status;
    this.sysCode = sysCode;
  }
}

/** Socket error codes that mean the connection never opened: nothing of the request was sent. */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'EAI_FAIL', 'EAI_NODATA']);

/**
 * Classifies a socket failure on an upstream connection. `connected`: the connection had opened
 * (so the head may have gone out); a failure before that is a connect failure whatever its code.
 */
export function upstreamSocketError(err: (Error & { code?: string }) | null, connected: boolean): ProxyError {
  if (err instanceof ProxyError) return err;
  const sys = err?.code;
  if (!connected || (sys !== undefined && CONNECT_CODES.has(sys))) {
    return new ProxyError('UPSTREAM_CONNECT_FAILED', err === null ? 'connection closed while connecting' : describeSocketError(err), sys);
  }
  if (sys?.startsWith('HPE_') === true || sys?.startsWith('ERR_SSL') === true) {
    return new ProxyError('UPSTREAM_MALFORMED', `malformed response from backend: ${err!.message}`, sys);
  }
  return new ProxyError('UPSTREAM_CLOSED', err === null ? 'backend closed the connection before answering' : describeSocketError(err), sys ?? 'ECONNCLOSED');
}

