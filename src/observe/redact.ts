/**
 * Credentials taken out of what traces print. A trace goes to logs that many people and systems
 * read; a bearer token, a session cookie or an S3 signature in it is a credential handed to all of
 * them (a presigned URL is usable by whoever sees it until it expires). What is kept is what helps
 * debugging: the scheme of an Authorization, the names of cookies, the date/region/service scope
 * of an AWS credential. `--debug-raw` turns this off.
 */
export const REDACTED = '[REDACTED]';

/** Header name (lower case) → how its value is redacted. */
const HEADERS: Readonly<Record<string, (value: string) => string>> = {
  authorization: authorization,
  'proxy-authorization': authorization,
  cookie: (v) => v.split(';').map((pair) => cookieName(pair) + '=' + REDACTED).join('; '),
  'set-cookie': setCookie,
  'x-amz-security-token': () => REDACTED,
};

/** Query parameters (lower case) → how their value is redacted. */
const QUERY: Readonly<Record<string, (value: string) => string>> = {
  'x-amz-signature': () => REDACTED,
  'x-amz-security-token': () => REDACTED,
  'x-amz-credential': credentialScope,
  // SigV2 presigned URLs (and a signature the client put in the query for any other reason).
  signature: () => REDACTED,
};

/** A copy of a header object (as traces carry them: name → string or list of strings) with credentials redacted. */
export function redactHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    const redact = HEADERS[name.toLowerCase()];
    if (redact === undefined) out[name] = value;
    else if (Array.isArray(value)) out[name] = value.map((v) => redact(String(v)));
    else out[name] = redact(String(value));
  }
  return out;
}

/** A request target (path and query) with the signature parameters of its query redacted; the path is left alone. */
export function redactTarget(target: string): string {
  const q = target.indexOf('?');
  if (q < 0) return target;
  const params = target.slice(q + 1).split('&').map((param) => {
    const eq = param.indexOf('=');
    if (eq < 0) return param;
    const redact = QUERY[safeDecode(param.slice(0, eq)).toLowerCase()];
    return redact === undefined ? param : param.slice(0, eq + 1) + redact(param.slice(eq + 1));
  });
  return target.slice(0, q + 1) + params.join('&');
}

/** `Basic xxx` → `Basic [REDACTED]`; AWS SigV4 keeps its scope and signed header names, loses key id and signature. */
function authorization(value: string): string {
  const space = value.indexOf(' ');
  if (space < 0) return REDACTED;
  const scheme = value.slice(0, space);
  if (scheme !== 'AWS4-HMAC-SHA256') return `${scheme} ${REDACTED}`;
  return value
    .replace(/Credential=([^,\s]*)/, (_, c: string) => `Credential=${credentialScope(c)}`)
    .replace(/Signature=[^,\s]*/, `Signature=${REDACTED}`);
}

/** `AKID/20261129/us-east-1/s3/aws4_request` (or with %2F) → the same without the access key id. */
function credentialScope(credential: string): string {
  const slash = /\/|%2F/i.exec(credential);
  return slash === null ? REDACTED : REDACTED + credential.slice(slash.index);
}

function cookieName(pair: string): string {
  const eq = pair.indexOf('=');
  return (eq < 0 ? '' : pair.slice(0, eq)).trim();
}

/** `sid=abc; Path=/; HttpOnly` → `sid=[REDACTED]; Path=/; HttpOnly` (the attributes are not secret). */
function setCookie(value: string): string {
  const semi = value.indexOf(';');
  const first = semi < 0 ? value : value.slice(0, semi);
  return `${cookieName(first)}=${REDACTED}${semi < 0 ? '' : value.slice(semi)}`;
}

function safeDecode(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}
