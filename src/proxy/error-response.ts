/** The only place that turns proxy failures into HTTP responses (sidekick's S3-style XML). */

export interface LocalResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The XML error body S3 clients parse; `resource` is the request path. */
export function xmlError(code: string, message: string, resource: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${escapeXml(message)}</Message><Resource>${escapeXml(resource)}</Resource></Error>`;
}

const XML_HEADERS = { 'Content-Type': 'application/xml', 'Retry-After': '120', 'Server': 'SideKick', 'X-Proxy': 'true' };

/** Every backend of every site is offline. */
export function backendDown(resource: string): LocalResponse {
  return {
    status: 502,
    headers: XML_HEADERS,
    body: xmlError('BackendDown', 'The remote server returned an error (all backend servers are offline)', resource),
  };
}

/** A backend failed in a way that could not be retried. */
export function badGateway(reason: string, resource: string): LocalResponse {
  return { status: 502, headers: XML_HEADERS, body: xmlError('BadGateway', `The remote server returned an error (${reason})`, resource) };
}
