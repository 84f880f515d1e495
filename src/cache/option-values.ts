/** Parsers for the --cache-* option values (the rows themselves live in src/config/options.ts). */
import { fail, ok, type Parser, type Result } from '../config/result.js';
import { parseByteSize } from './size.js';

/** An S3 endpoint: http or https, a host, no path (the bucket is addressed path-style below it). */
export function parseCacheEndpoint(text: string): Result<string> {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return fail(`${JSON.stringify(text)} is not a URL (use http://host:port or https://host)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(`${JSON.stringify(text)}: only http and https endpoints are supported`);
  if (url.hostname === '') return fail(`${JSON.stringify(text)} has no host`);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') return fail(`${JSON.stringify(text)}: give the endpoint without a path (the bucket is a separate option)`);
  if (url.username !== '' || url.password !== '') return fail(`${JSON.stringify(text)}: give the keys with --cache-access-key/--cache-secret-key, not in the URL`);
  return ok(url.origin);
}

/** S3's bucket naming rules: 3-63 of a-z 0-9 . -, starting and ending with a letter or digit. */
export function parseBucket(text: string): Result<string> {
  const name = text.trim();
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes('..')) {
    return fail(`${JSON.stringify(text)} is not a valid bucket name (3-63 characters of a-z, 0-9, "." and "-")`);
  }
  return ok(name);
}

/** A key prefix inside the bucket; a missing trailing "/" is added so prefixes never run into each other. */
export function parseKeyPrefix(text: string): Result<string> {
  const prefix = text.trim().replace(/^\/+/, '');
  if (/[\u0000-\u001f\u007f\\]/.test(prefix)) return fail(`${JSON.stringify(text)} must not contain control characters or "\\"`);
  if (prefix === '') return ok('');
  return ok(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

export function parseSecretText(label: string): Parser<string> {
  return (text) => (text.trim() === '' ? fail(`${label} must not be empty`) : ok(text.trim()));
}

export { parseByteSize };
