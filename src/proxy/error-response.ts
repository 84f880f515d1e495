/** The only place that turns proxy failures into HTTP responses (sidekick's S3-style XML). */
import type { ProxyError } from './errors.js';

export interface LocalResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The XML `Resource`: the request path without its query, as sidekick reports it. */
function resourceOf(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}

/** The XML error body S3 clients parse; `resource` is the request path. */
export function xmlError(code: string, message: string, resource: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${escapeXml(message)}</Message><Resource>${escapeXml(resource)}</Resource></Error>`;
}

const XML_HEADERS = { 'Content-Type': 'application/xml', 'Retry-After': '120', 'Server': 'SideKick', 'X-Proxy': 'true' };

/** Every backend of every site is offline. `path` may carry a query. */
export function backendDown(path: string): LocalResponse {
  return {
    status: 502,
    headers: XML_HEADERS,
    body: xmlError('BackendDown', 'The remote server returned an error (all backend servers are offline)', resourceOf(path)),
  };
}

/** A backend failed in a way that could not be retried. `path` may carry a query. */
export function badGateway(reason: string, path: string): LocalResponse {
  return { status: 502, headers: XML_HEADERS, body: xmlError('BadGateway', `The remote server returned an error (${reason})`, resourceOf(path)) };
}

/** A backend did not answer in time (no response head, or a body that stopped moving). */
export function gatewayTimeout(reason: string, path: string): LocalResponse {
  return { status: 504, headers: XML_HEADERS, body: xmlError('GatewayTimeout', `The remote server did not respond in time (${reason})`, resourceOf(path)) };
}

/**
 * The answer for a request that failed before its response started, read from the typed error:
 * NO_BACKEND is sidekick's BackendDown, UPSTREAM_TIMEOUT a 504, client errors a plain 4xx, the
 * rest a BadGateway naming the failure.
 */
export function errorAnswer(err: ProxyError, path: string): LocalResponse {
  switch (err.code) {
    case 'NO_BACKEND': return backendDown(path);
    case 'UPSTREAM_TIMEOUT': return gatewayTimeout(err.message, path);
    case 'CLIENT_BAD_REQUEST': return plainResponse(400, err.message);
    case 'CLIENT_TIMEOUT': return plainResponse(408, err.message);
    case 'INTERNAL': return plainResponse(500, 'internal error');
    default: return badGateway(err.message, path);
  }
}

/** No backend is left to try: all down, or the last failure when some were tried. */
export function noBackendLeft(lastError: ProxyError | null, path: string): LocalResponse {
  return lastError === null ? backendDown(path) : errorAnswer(lastError, path);
}

/** A short plain-text answer of the proxy's own (400, 405, 408, ...). */
export function plainResponse(status: number, message: string): LocalResponse {
  return { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: `${message}\n` };
}
