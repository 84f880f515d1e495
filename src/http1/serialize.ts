/** Builds the head of a locally generated response (errors, health answers) in one Buffer. */
import { STATUS_CODES } from 'node:http';
import { FIELD_VALUE, TOKEN } from './chars.js';

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TOKEN[c] !== 1) return false;
  }
  return true;
}

/** Field value or reason phrase: no CR, LF or other controls, so nothing can be injected. */
function isFieldText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || FIELD_VALUE[c] !== 1) return false;
  }
  return true;
}

/**
 * "HTTP/1.1 <status> <reason>\r\n" + "name: value\r\n"... + "\r\n", latin1-encoded.
 * headers is a flat [name, value, name, value, ...] list (like Node's rawHeaders), sent in
 * order. reason defaults to the standard phrase. Throws TypeError on anything that could
 * break the framing (a bad status, a name that is not a token, CR/LF in a value).
 */
export function serializeResponseHead(statusCode: number, headers: readonly string[], reason?: string): Buffer {
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 999) {
    throw new TypeError(`invalid status code ${statusCode}`);
  }
  const phrase = reason ?? STATUS_CODES[statusCode] ?? '';
  if (!isFieldText(phrase)) throw new TypeError('invalid reason phrase');
  if (headers.length % 2 !== 0) throw new TypeError('headers must be name/value pairs');
  let out = `HTTP/1.1 ${statusCode} ${phrase}\r\n`;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!isToken(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
    if (!isFieldText(value)) throw new TypeError(`invalid value for header ${name}`);
    out += `${name}: ${value}\r\n`;
  }
  return Buffer.from(out + '\r\n', 'latin1');
}
