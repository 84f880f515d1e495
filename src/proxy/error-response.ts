/** The only place that turns proxy failures into HTTP responses (sidekick's S3-style XML). */

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

/** No backend is left to try: all down, or the last failure when some were tried. */
export function noBackendLeft(lastError: string | undefined, path: string): LocalResponse {
  return lastError === undefined ? backendDown(path) : badGateway(lastError, path);
}

/** A short plain-text answer of the proxy's own (400, 405, 408, ...). */
export function plainResponse(status: number, message: string): LocalResponse {
  return { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: `${message}\n` };
}
