/**
 * Checks a decoded request header list (RFC 9113 §8.1.1, §8.2, §8.3) and reads its pseudo-header
 * fields. A malformed request is a stream error of type PROTOCOL_ERROR; the caller resets it.
 */

export interface RequestHead {
  readonly method: string;
  readonly scheme: string;
  readonly path: string;
  readonly authority: string;
  /** Content-Length, -1 when absent. */
  readonly contentLength: number;
  /** The whole list, name/value pairs (pseudo-header fields first). */
  readonly fields: string[];
}

/** Fields that only make sense on one HTTP/1.1 connection (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC = new Set(['connection', 'proxy-connection', 'keep-alive', 'transfer-encoding', 'upgrade']);

/** A field name: lower-case token characters only (RFC 9110 §5.6.2, RFC 9113 §8.2.1). */
const NAME = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;
/** A field value: no NUL, CR or LF, no leading or trailing space or tab (RFC 9113 §8.2.1). */
const BAD_VALUE = /[\0\r\n]|^[ \t]|[ \t]$/;
const DIGITS = /^[0-9]{1,15}$/;

/** The request head, or a string saying why it is malformed. */
export function readRequestHead(fields: string[]): RequestHead | string {
  let method = '';
  let scheme = '';
  let path = '';
  let authority = '';
  let contentLength = -1;
  let regular = false;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (BAD_VALUE.test(value)) return `bad value for ${name}`;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (regular) return 'pseudo-header field after a regular field';
      if (name === ':method' && method === '') method = value;
      else if (name === ':scheme' && scheme === '') scheme = value;
      else if (name === ':path' && path === '') path = value;
      else if (name === ':authority' && authority === '') authority = value;
      else return `unexpected or repeated pseudo-header ${name}`;
      if (value === '') return `empty ${name}`;
      continue;
    }
    regular = true;
    const why = regularField(name, value);
    if (why !== null) return why;
    if (name === 'content-length') {
      if (!DIGITS.test(value) || (contentLength !== -1 && Number(value) !== contentLength)) return 'bad content-length';
      contentLength = Number(value);
    }
  }
  if (method === '') return 'missing :method';
  if (method === 'CONNECT') {
    if (authority === '' || scheme !== '' || path !== '') return 'CONNECT needs :authority and no :scheme or :path';
  } else if (scheme === '' || path === '') {
    return 'missing :scheme or :path';
  }
  return { method, scheme, path, authority, contentLength, fields };
}

/** Why a regular field is not allowed in a request (or trailers), or null. */
function regularField(name: string, value: string): string | null {
  if (!NAME.test(name)) return `bad field name ${JSON.stringify(name)}`;
  if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
  if (name === 'te' && value !== 'trailers') return 'te other than "trailers"';
  return null;
}

/** Trailers as a flat list without pseudo-header fields, or a string saying why they are malformed. */
export function readTrailers(fields: string[]): string[] | string {
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.charCodeAt(0) === 58) return 'pseudo-header field in trailers';
    if (BAD_VALUE.test(fields[i + 1]!)) return `bad value for ${name}`;
    const why = regularField(name, fields[i + 1]!);
    if (why !== null) return why;
  }
  return fields;
}
